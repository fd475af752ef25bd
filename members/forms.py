"""Account forms: sign up, and a sign-in form that applies login throttling."""

from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm

from members import login_throttle
from members.models import User, normalize_email
from prism_site.http import client_ip


class SignupForm(forms.Form):
    display_name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account with this email already exists: sign in, or reset your password."
            )
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
