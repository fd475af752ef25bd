"""Forms for keys: create/edit (name, scopes, restrictions, expiry), rotate, revoke, and filters.

They parse what a person typed into typed values and hand them to the services, which hold them
to the `KeyAttributes` schema (bounds, formats, and the rules that need the org: unique names,
the org's models, who may add the admin scope) as they do an API request body; the views put
each error back next to its field. While a field does not parse, the form asks the same schema
about the others, so one response names every problem it can.
"""

from django import forms
from django.utils import timezone

from keys.models import BudgetPeriod, KeyStatus, RotationGrace, Scope, VirtualKey
from keys.schema import RATE_LIMIT_MAX, KeyAttributes, KeyAttributesInvalid
from prism_site.timezones import zone_label


def _split(text: str) -> list[str]:
    return [item.strip() for line in text.splitlines() for item in line.split(",") if item.strip()]


def _no_nul(name: str) -> dict[str, str]:
    return {"null_characters_not_allowed": f"{name}: remove the null character (\\x00)."}


def _messages(name: str, fix: str, *codes: str, **by_code: str) -> dict[str, str]:
    messages = {code: f"{name}: {fix}" for code in ("invalid", *codes)}
    return messages | _no_nul(name) | {code: f"{name}: {text}" for code, text in by_code.items()}


class ScopeCheckboxes(forms.CheckboxSelectMultiple):
    """The scope checkboxes; a scope the person may not grant shows disabled, not hidden, so the
    reason beside it says who can (the services refuse it whatever the browser sends)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled_values: frozenset[str] = frozenset()

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.disabled_values:
            option["attrs"]["disabled"] = True
            option["attrs"]["aria-describedby"] = f"{option['attrs']['id']}-why"
        return option


class KeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses the key, e.g. checkout-service (production).",
        error_messages=_messages("name", "give the key a name.", "required", "max_length"),
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        initial=[Scope.GATEWAY.value],
        widget=ScopeCheckboxes,
        error_messages=_messages(
            "scopes", "choose at least one scope.", "required", "invalid_choice"
        ),
    )
    # Read in the viewer's zone (the active one, prism_site/timezones), as every date input is;
    # __init__ names the zone in the help text.
    expires_at = forms.DateTimeField(
        label="Expires at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    rate_limit_rpm = forms.IntegerField(
        label="Requests per minute",
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": RATE_LIMIT_MAX}),
        help_text="Empty: only the org's limits apply.",
        error_messages=_messages(
            "rate_limit_rpm", "enter a whole number of at least 1, or leave it empty."
        ),
    )
    rate_limit_tpm = forms.IntegerField(
        label="Tokens per minute",
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": RATE_LIMIT_MAX}),
        error_messages=_messages(
            "rate_limit_tpm", "enter a whole number of at least 1, or leave it empty."
        ),
    )
    allowed_models = forms.CharField(
        label="Allowed models",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "gpt-4o-mini, claude-sonnet-4"}),
        help_text="One per line or comma-separated. Empty: every model the org offers.",
        error_messages=_no_nul("allowed_models"),
    )
    allowed_ips = forms.CharField(
        label="Allowed IP ranges",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "203.0.113.0/24"}),
        help_text="CIDR ranges or single addresses. Empty: any address the org allows.",
        error_messages=_no_nul("allowed_ips"),
    )
    budget_limit = forms.DecimalField(
        label="Budget (USD)",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
        error_messages=_messages(
            "budget_limit", "enter an amount in USD such as 50 or 12.50, or leave it empty."
        ),
    )
    budget_period = forms.ChoiceField(
        label="Budget period",
        required=False,
        choices=[("", "—")] + BudgetPeriod.choices,
        error_messages=_messages(
            "budget_period", f"must be one of {', '.join(BudgetPeriod.values)}.", "invalid_choice"
        ),
    )
    metadata = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "team=payments"}),
        help_text="key=value, one per line; sent to the gateway with each request's log.",
        error_messages=_no_nul("metadata"),
    )

    def __init__(self, data=None, *, initial=None, admin_scope_refusal: str = ""):
        """`admin_scope_refusal`: why this person may not add the admin scope here ("" if they
        may); the checkbox then shows disabled with the reason."""
        super().__init__(data, initial=initial)
        zone = zone_label(timezone.get_current_timezone())
        expires_at = self.fields["expires_at"]
        expires_at.help_text = (
            f"In your time zone, {zone}. Leave empty for a key that never expires."
        )
        expires_at.error_messages = _messages(
            "expires_at", f"enter a date and time (YYYY-MM-DD HH:MM, {zone})."
        )
        self.admin_scope_refusal = admin_scope_refusal
        if admin_scope_refusal:
            self.fields["scopes"].widget.disabled_values = frozenset({Scope.ADMIN.value})

    @classmethod
    def for_key(cls, key: VirtualKey, data=None, *, admin_scope_refusal: str = "") -> "KeyForm":
        initial = {
            "name": key.name,
            "scopes": key.scopes,
            "expires_at": key.expires_at,
            "rate_limit_rpm": key.rate_limit_rpm,
            "rate_limit_tpm": key.rate_limit_tpm,
            "allowed_models": "\n".join(key.allowed_models),
            "allowed_ips": "\n".join(key.allowed_ips),
            "budget_limit": key.budget_limit,
            "budget_period": key.budget_period,
            "metadata": "\n".join(f"{name}={value}" for name, value in key.metadata.items()),
        }
        if Scope.ADMIN.value in key.scopes:
            admin_scope_refusal = ""  # held already: keeping it grants nothing new
        return cls(data, initial=initial, admin_scope_refusal=admin_scope_refusal)

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        initial = self.initial.get("expires_at")
        # The input shows minutes only; an untouched expiry keeps its exact stored value.
        if value and initial and value == initial.replace(second=0, microsecond=0):
            return initial
        return value

    def clean_allowed_models(self) -> list[str]:
        models = _split(self.cleaned_data["allowed_models"])
        if any(" " in model for model in models):
            raise forms.ValidationError(
                "allowed_models: model names have no spaces; separate them with commas or lines."
            )
        return list(dict.fromkeys(models))

    def clean_allowed_ips(self) -> list[str]:
        return list(dict.fromkeys(_split(self.cleaned_data["allowed_ips"])))

    def clean_metadata(self) -> dict[str, str]:
        metadata = {}
        for number, line in enumerate(self.cleaned_data["metadata"].splitlines(), start=1):
            if not line.strip():
                continue
            name, separator, value = line.partition("=")
            if not separator or not name.strip():
                raise forms.ValidationError(
                    f"metadata: line {number} ({line.strip()[:40]}) needs the form key=value."
                )
            metadata[name.strip()] = value.strip()
        return metadata

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            # The services will not be asked while something does not parse, so the schema
            # answers for the fields that did, in the same response.
            parsed = {name: cleaned[name] for name in KeyAttributes.model_fields if name in cleaned}
            try:
                KeyAttributes.checked(parsed)
            except KeyAttributesInvalid as invalid:
                for error in invalid.field_errors:
                    if error.field in self.fields and error.field not in self.errors:
                        self.add_error(error.field, str(error))
        return cleaned

    def attributes(self) -> dict:
        """What parsed, for the services to hold to the `KeyAttributes` schema together with the
        rules that need the org, so one answer names every problem (call after `is_valid()`)."""
        return {name: self.cleaned_data[name] for name in KeyAttributes.model_fields}


class RotateForm(forms.Form):
    grace = forms.ChoiceField(
        label="Keep the old secret working for",
        choices=RotationGrace.choices,
        initial=RotationGrace.HOUR.value,
        widget=forms.RadioSelect,
        error_messages=_messages(
            "grace",
            f"choose one of {', '.join(RotationGrace.values)}.",
            "required",
            "invalid_choice",
        ),
    )


class KeyFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "All statuses")] + KeyStatus.choices)
    mine = forms.BooleanField(required=False, label="Created by me")
