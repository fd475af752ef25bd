"""Forms of Settings > Members and the invitation pages: invite, role change, filter, sign up."""

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from members.forms import SignupForm
from members.services import INVITATIONS_PER_REQUEST, invitation_addresses
from orgs.roles import Role


class InvitationForm(forms.Form):
    emails = forms.CharField(
        label="Email addresses",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ada@example.com, bob@example.com"}),
        help_text=f"One or several (up to {INVITATIONS_PER_REQUEST}), separated by commas, spaces "
        "or new lines.",
        error_messages={"required": "emails: enter at least one email address."},
    )
    role = forms.ChoiceField(label="Role")

    def __init__(self, *args, roles: list[Role], **kwargs):
        super().__init__(*args, **kwargs)
        # A NUL refuses just the address it is in (see `invitation_addresses`), not the batch.
        self.fields["emails"].validators = [
            validator
            for validator in self.fields["emails"].validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]
        self.fields["role"].choices = [(role.value, role.label) for role in roles]
        default = Role.MEMBER if Role.MEMBER in roles else (roles[-1] if roles else None)
        if default is not None:
            self.fields["role"].initial = default.value
        self.roles = roles

    def clean_emails(self) -> list[str]:
        return invitation_addresses(self.cleaned_data["emails"])

    def clean_role(self) -> Role:
        role = Role(self.cleaned_data["role"])
        if role not in self.roles:
            raise forms.ValidationError(f"role: you cannot invite someone as {role.label}.")
        return role


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(
        choices=Role.choices,
        error_messages={
            "invalid_choice": "role: choose one of " + ", ".join(Role.labels) + ".",
            "required": "role: choose one of " + ", ".join(Role.labels) + ".",
        },
    )


class MemberFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=254, label="Search")
    role = forms.ChoiceField(
        required=False, choices=[("", "All roles"), *Role.choices], label="Role"
    )

    def values(self) -> tuple[str, str]:
        if not self.is_bound or not self.is_valid():
            return "", ""
        data = self.cleaned_data
        return (data.get("q") or "").strip(), data.get("role") or ""


class InvitationSignupForm(SignupForm):
    """Sign-up from an invitation link: the email is the invited one and cannot be changed."""

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, initial={"email": email}, **kwargs)
        self.fields["email"].disabled = True
        self.fields["email"].help_text = "The address the invitation was sent to."
