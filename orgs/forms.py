"""Forms for creating, renaming and deleting organizations."""

from django import forms


class OrganizationNameForm(forms.Form):
    name = forms.CharField(max_length=100, label="Organization name")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("name: enter at least one visible character.")
        return name


class OrganizationDeleteForm(forms.Form):
    confirm_name = forms.CharField(label="Type the organization name to confirm")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_confirm_name(self):
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.organization.name:
            raise forms.ValidationError(
                f"confirm_name: type the name exactly as shown ({self.organization.name})."
            )
        return typed
