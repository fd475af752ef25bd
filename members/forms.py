"""Account forms: sign up, and a sign-in form that applies login throttling."""

from datetime import timedelta

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core import validators

from members import login_throttle
from members.models import User
from prism_site.addresses import EMAIL_MAX_LENGTH, normalize_email
from prism_site.http import client_ip


def too_long_message(field_label: str) -> str:
    """A max_length message naming the field (Django fills in %(show_value)d)."""
    return f"{field_label}: at most {EMAIL_MAX_LENGTH} characters (this one has %(show_value)d)."


def email_too_long(field_label: str, length: int) -> forms.ValidationError:
    return forms.ValidationError(
        too_long_message(field_label) % {"show_value": length}, code="max_length"
    )


class SignupForm(forms.Form):
    EMAIL_TAKEN = "An account with this email already exists: sign in, or reset your password."

    display_name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(
        max_length=EMAIL_MAX_LENGTH,
        error_messages={"max_length": too_long_message("Email")},
    )
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        # Lower-casing can lengthen an address ("İ" becomes two characters).
        if len(email) > EMAIL_MAX_LENGTH:
            raise email_too_long("Email", len(email))
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(self.EMAIL_TAKEN)
        return email

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            candidate = User(
                email=cleaned.get("email") or "", display_name=cleaned.get("display_name", "")
            )
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class ThrottledLoginForm(AuthenticationForm):
    """Unknown email and wrong password share one answer; repeated failures lock (email, IP)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account.",
        "throttled": "Too many failed sign-ins. Try again in %(minutes)s minute(s).",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # Django sets the field's max_length after construction, which adds no validator:
        # a longer address would reach the throttle's column.
        username = self.fields["username"]
        username.validators.append(validators.MaxLengthValidator(EMAIL_MAX_LENGTH))
        username.error_messages["max_length"] = too_long_message(username.label)

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password")
        ip_address = client_ip(self.request)
        locked = login_throttle.seconds_locked(email=email, ip_address=ip_address)
        if locked:
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, (locked + 59) // 60)},
            )
        if email and password:
            self.user_cache = authenticate(self.request, username=email, password=password)
            if self.user_cache is None:
                login_throttle.failure_record(email=email, ip_address=ip_address)
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
            login_throttle.success_record(email=email, ip_address=ip_address)
        return self.cleaned_data


class EmailPasswordResetForm(PasswordResetForm):
    """Django's reset form, with the length refusal naming the field like every other form."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].error_messages["max_length"] = too_long_message("Email")


class AccessTokenForm(forms.Form):
    """A new personal access token: a name to recognise it by and how long it lives."""

    EXPIRY_DAYS = {"30": 30, "90": 90, "365": 365, "never": None}

    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What will use it, such as the provisioning script.",
        error_messages={"required": "name: give the token a name, such as the script using it."},
    )
    expires_in = forms.ChoiceField(
        label="Expires",
        choices=[
            ("30", "In 30 days"),
            ("90", "In 90 days"),
            ("365", "In a year"),
            ("never", "Never"),
        ],
        initial="90",
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("name: enter at least one visible character.")
        return name

    def expires_at(self, now):
        days = self.EXPIRY_DAYS[self.cleaned_data["expires_in"]]
        return None if days is None else now + timedelta(days=days)
