"""Forms for organizations (create, rename, delete, billing) and the config sections."""

import json
import re
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from orgs.config_schema import (
    SLUG,
    BudgetPeriod,
    CacheMode,
    ProviderType,
    RoutingStrategy,
    visible_text,
)
from prism_site.addresses import normalize_email
from prism_site.timezones import zone_label


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


# -- Org config sections ---------------------------------------------------------------------
# The forms only turn text into values; the config schema decides what is valid, so the page,
# the JSON editor and the API give the same answers. Every error message starts with its path.

JSON_EDITOR_MAX_CHARS = 200_000
_SPLIT = re.compile(r"[\s,]+")


def _choices(enum) -> list[tuple[str, str]]:
    return [(member.value, member.value.replace("_", " ").capitalize()) for member in enum]


PROVIDER_TYPE_CHOICES = [
    (ProviderType.OPENAI, "OpenAI"),
    (ProviderType.ANTHROPIC, "Anthropic"),
    (ProviderType.AZURE_OPENAI, "Azure OpenAI"),
    (ProviderType.GOOGLE, "Google"),
    (ProviderType.BEDROCK, "Amazon Bedrock"),
    (ProviderType.MISTRAL, "Mistral"),
    (ProviderType.GROQ, "Groq"),
    (ProviderType.OPENAI_COMPATIBLE, "OpenAI-compatible"),
]


def _text(value: str) -> str | None:
    value = (value or "").strip()
    return value or None


# Past this many digits a whole number is beyond every bound of the schema; reading it whole
# would be slow (and past 4300 digits int() refuses), so it is read as this many nines.
WHOLE_MAX_DIGITS = 40


def whole_number(digits: str) -> int:
    """A signed run of ASCII digits of any length as an int, over-long ones capped."""
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-").lstrip("0") or "0"
    if len(digits) > WHOLE_MAX_DIGITS:
        digits = "9" * (WHOLE_MAX_DIGITS + 1)
    return sign * int(digits)


def _whole(value: str) -> Any:
    """'10,000' → 10000; blank → None; anything else goes on as text for the schema to refuse."""
    value = (value or "").strip().replace(",", "").replace("_", "")
    if not value:
        return None
    return whole_number(value) if re.fullmatch(r"[+-]?[0-9]+", value) else value


def _money(value: str) -> Any:
    value = (value or "").strip().replace(",", "").removeprefix("$").strip()
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return value
    return amount if amount.is_finite() else value


def _fraction(token: str) -> Any:
    percent = token.endswith("%")
    try:
        number = Decimal(token.removesuffix("%"))
    except InvalidOperation:
        return token
    if not number.is_finite():
        return token
    if number and not -300 <= number.adjusted() <= 300:
        # 1e9999999 or 1e-9999999: no arithmetic (it would overflow); the schema names the bound.
        return float(Decimal(10**7 if number.adjusted() > 0 else 0).copy_sign(number))
    return float(number / 100 if percent else number)


def _items(value: str) -> list[str]:
    return [item for item in _SPLIT.split(value or "") if item]


class ConfigSectionForm(forms.Form):
    """Base for the section forms: the version the edit started from, a change note, and
    errors that always begin with the config path they concern."""

    section = ""
    # Form field → config path, where the two differ.
    field_paths: dict[str, str] = {}

    base_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31)
    message = forms.CharField(
        required=False,
        max_length=200,
        label="Change note (optional)",
        widget=forms.TextInput(attrs={"placeholder": "Why this change? Shown in History."}),
    )

    def clean_message(self) -> str:
        # The note is shown in History and the audit log: no newlines or bidi overrides.
        try:
            return visible_text(self.cleaned_data["message"])
        except ValueError as error:
            raise forms.ValidationError(f"message: {error}") from None

    def __init__(self, *args, **kwargs):
        # Several section forms may be open on one page: ids carry the section
        # (id_caching-enabled) so no label points at another form's field. Names stay plain.
        kwargs.setdefault("auto_id", f"id_{self.section}-%s")
        super().__init__(*args, **kwargs)
        # The change note goes under the section's own fields, next to Save.
        self.order_fields([name for name in self.fields if name != "message"])

    def error_path(self, field: str) -> str:
        if field in ("base_version", "message"):
            return field
        return self.field_paths.get(field, f"{self.section}.{field}")

    def add_error(self, field, error):
        if field is not None and not isinstance(error, dict):
            path = self.error_path(field)
            messages = forms.ValidationError(error).messages
            if field == "base_version":
                messages = ["base_version: the form lost the version it started from; reload"]
            error = [
                m if m.startswith(path) else f"{path}: {m[:1].lower()}{m[1:]}" for m in messages
            ]
        super().add_error(field, error)

    def values(self) -> Any:
        raise NotImplementedError

    def add_config_errors(self, errors) -> None:
        """Attach schema errors to the field they concern (the form top when none fits)."""
        for error in errors:
            # Already path-named by the schema: skip the prefixing of add_error.
            forms.Form.add_error(self, self._field_for(error.loc), str(error))

    def _field_for(self, loc: tuple) -> str | None:
        parts = list(loc)
        if parts and parts[0] == self.section:
            parts = parts[1:]
        if parts and isinstance(parts[0], int):
            parts = parts[1:]
        names = [str(part) for part in parts if not isinstance(part, int)]
        while names:
            candidate = "_".join(names)
            if candidate in self.fields and candidate not in ("base_version", "message"):
                return candidate
            names.pop()
        return None


class RoutingForm(ConfigSectionForm):
    section = "routing"
    field_paths = {
        "retry_max_retries": "routing.retry.max_retries",
        "retry_backoff_ms": "routing.retry.backoff_ms",
    }

    strategy = forms.CharField(widget=forms.Select(choices=_choices(RoutingStrategy)))
    default_model = forms.CharField(required=False, max_length=200, help_text="Blank: none.")
    fallbacks = forms.CharField(
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "gpt-4o: gpt-4o-mini, claude-sonnet-4"}
        ),
        help_text="One model a line: model: fallback, fallback",
    )
    retry_max_retries = forms.CharField(label="Max retries", help_text="0–10")
    retry_backoff_ms = forms.CharField(label="Backoff (ms)")
    timeout_seconds = forms.CharField(label="Timeout (seconds)", help_text="1–600")

    @classmethod
    def initial_from(cls, config) -> dict:
        routing = config.routing
        return {
            "strategy": routing.strategy.value,
            "default_model": routing.default_model or "",
            "fallbacks": "\n".join(f"{m}: {', '.join(f)}" for m, f in routing.fallbacks.items()),
            "retry_max_retries": routing.retry.max_retries,
            "retry_backoff_ms": routing.retry.backoff_ms,
            "timeout_seconds": routing.timeout_seconds,
        }

    def clean_fallbacks(self):
        fallbacks = {}
        for number, line in enumerate(self.cleaned_data["fallbacks"].splitlines(), start=1):
            if not line.strip():
                continue
            model, colon, rest = line.partition(":")
            if not colon or not model.strip():
                raise forms.ValidationError(
                    f"routing.fallbacks: line {number} needs the form model: fallback, fallback"
                )
            fallbacks[model.strip()] = _items(rest)
        return fallbacks

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "strategy": data["strategy"],
            "default_model": _text(data["default_model"]),
            "fallbacks": data["fallbacks"],
            "retry": {
                "max_retries": _whole(data["retry_max_retries"]),
                "backoff_ms": _whole(data["retry_backoff_ms"]),
            },
            "timeout_seconds": _whole(data["timeout_seconds"]),
        }


class CachingForm(ConfigSectionForm):
    section = "caching"

    enabled = forms.BooleanField(required=False, label="Cache responses")
    mode = forms.CharField(widget=forms.Select(choices=_choices(CacheMode)))
    ttl_seconds = forms.CharField(label="Time to live (seconds)", help_text="1–604800 (7 days)")
    max_entries = forms.CharField(label="Max entries")

    @classmethod
    def initial_from(cls, config) -> dict:
        return config.caching.model_dump(mode="json")

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "enabled": data["enabled"],
            "mode": data["mode"],
            "ttl_seconds": _whole(data["ttl_seconds"]),
            "max_entries": _whole(data["max_entries"]),
        }


class RateLimitingForm(ConfigSectionForm):
    section = "rate_limiting"

    enabled = forms.BooleanField(required=False, label="Enforce rate limits")
    rpm = forms.CharField(required=False, label="Requests per minute (org)")
    tpm = forms.CharField(required=False, label="Tokens per minute (org)")
    per_key_rpm = forms.CharField(required=False, label="Requests per minute (each key)")
    per_key_tpm = forms.CharField(required=False, label="Tokens per minute (each key)")

    @classmethod
    def initial_from(cls, config) -> dict:
        return {k: "" if v is None else v for k, v in config.rate_limiting.model_dump().items()}

    def values(self) -> dict:
        data = self.cleaned_data
        limits = {name: _whole(data[name]) for name in ("rpm", "tpm", "per_key_rpm", "per_key_tpm")}
        return {"enabled": data["enabled"], **limits}


class BudgetsForm(ConfigSectionForm):
    section = "budgets"

    enabled = forms.BooleanField(required=False, label="Enforce the budget")
    limit = forms.CharField(required=False, label="Limit (USD)", help_text="Blank: unlimited.")
    period = forms.CharField(
        widget=forms.Select(choices=_choices(BudgetPeriod)),
        help_text="Calendar periods in UTC.",
    )
    alert_thresholds = forms.CharField(
        required=False,
        help_text="Fractions of the limit, e.g. 0.5, 0.8, 1 (or 50%, 80%, 100%).",
    )
    action = forms.CharField(
        label="When the limit is reached",
        widget=forms.Select(choices=[("block", "Block requests"), ("warn", "Warn only")]),
    )

    @classmethod
    def initial_from(cls, config) -> dict:
        budgets = config.budgets
        return {
            "enabled": budgets.enabled,
            "limit": "" if budgets.limit is None else budgets.limit,
            "period": budgets.period.value,
            "alert_thresholds": ", ".join(f"{t:g}" for t in budgets.alert_thresholds),
            "action": budgets.action.value,
        }

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "enabled": data["enabled"],
            "limit": _money(data["limit"]),
            "period": data["period"],
            "alert_thresholds": [_fraction(t) for t in _items(data["alert_thresholds"])],
            "action": data["action"],
        }


class IpAclForm(ConfigSectionForm):
    section = "ip_acl"

    enabled = forms.BooleanField(required=False, label="Enforce IP access rules")
    allow = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="CIDRs, one a line (e.g. 203.0.113.0/24). Empty: every address.",
    )
    deny = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="CIDRs, one a line. Deny wins over allow.",
    )

    @classmethod
    def initial_from(cls, config) -> dict:
        acl = config.ip_acl
        return {"enabled": acl.enabled, "allow": "\n".join(acl.allow), "deny": "\n".join(acl.deny)}

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "enabled": data["enabled"],
            "allow": _items(data["allow"]),
            "deny": _items(data["deny"]),
        }


SECTION_FORMS: dict[str, type[ConfigSectionForm]] = {
    form.section: form
    for form in (RoutingForm, CachingForm, RateLimitingForm, BudgetsForm, IpAclForm)
}


class ProviderForm(ConfigSectionForm):
    """Add a provider (no original_name) or edit one; a blank key keeps the stored key."""

    section = "providers"

    original_name = forms.CharField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=63, help_text="A slug, e.g. openai-prod.")
    type = forms.CharField(widget=forms.Select(choices=PROVIDER_TYPE_CHOICES))
    base_url = forms.CharField(
        required=False,
        max_length=2000,
        label="Base URL",
        help_text="https only. Blank: the provider's public endpoint.",
    )
    api_key = forms.CharField(
        required=False,
        max_length=4096,
        label="API key",
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    remove_key = forms.BooleanField(required=False, label="Remove the stored key")
    models = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One a line (or comma-separated). Empty: every model of the provider.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    weight = forms.CharField(help_text="For weighted routing; 0 or more.")
    timeout_seconds = forms.CharField(label="Timeout (seconds)", help_text="1–600")

    def __init__(self, *args, stored_key_mask: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_key_mask = stored_key_mask
        if stored_key_mask:
            self.fields["api_key"].help_text = f"Stored: {stored_key_mask}. Leave blank to keep it."
        else:
            del self.fields["remove_key"]
            self.fields["api_key"].help_text = "Stored encrypted; shown only masked afterwards."

    def error_path(self, field: str) -> str:
        if field in ("base_version", "message"):
            return field
        name = (self.data.get("original_name") or self.data.get("name")) if self.is_bound else ""
        return f"providers.{name}.{field}" if SLUG.fullmatch(name or "") else f"providers.{field}"

    @classmethod
    def initial_from(cls, provider) -> dict:
        if provider is None:
            return {"type": "openai", "enabled": True, "weight": 1, "timeout_seconds": 60}
        return {
            "original_name": provider.name,
            "name": provider.name,
            "type": provider.type.value,
            "base_url": provider.base_url or "",
            "models": "\n".join(provider.models),
            "enabled": provider.enabled,
            "weight": provider.weight,
            "timeout_seconds": provider.timeout_seconds,
        }

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "type": data["type"],
            "base_url": _text(data["base_url"]),
            "api_key": data["api_key"] or None,
            "models": _items(data["models"]),
            "enabled": data["enabled"],
            "weight": _whole(data["weight"]),
            "timeout_seconds": _whole(data["timeout_seconds"]),
        }


class VersionForm(forms.Form):
    """Actions that only carry the version they started from (toggle, remove, restore)."""

    base_version = forms.IntegerField(
        min_value=0,
        max_value=2**31,
        error_messages={
            "required": "base_version: the form lost the version it started from; reload",
            "invalid": "base_version: the form lost the version it started from; reload",
            "min_value": "base_version: the form lost the version it started from; reload",
            "max_value": "base_version: the form lost the version it started from; reload",
        },
    )


class ConfigDocumentForm(ConfigSectionForm):
    """The JSON editor: the whole document, checked by the same schema as every section."""

    section = "document"

    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
        label="Config document (JSON)",
        help_text=(
            "Keys shown masked are kept; leave api_key out to keep it, set it to null to remove "
            "it, or paste a new key."
        ),
        strip=False,
    )

    def error_path(self, field: str) -> str:
        return "document" if field == "document" else super().error_path(field)

    def clean_document(self):
        text = self.cleaned_data["document"]
        if len(text) > JSON_EDITOR_MAX_CHARS:
            raise forms.ValidationError(
                f"document: at most {JSON_EDITOR_MAX_CHARS:,} characters; trim the document"
            )
        try:
            # A 5,000-digit integer is valid JSON that int() refuses: cap it (the schema then
            # names the bound it is past).
            return json.loads(text, parse_int=whole_number)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"document: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
            ) from None
        except (ValueError, RecursionError):
            raise forms.ValidationError("document: not valid JSON (nested too deeply)") from None

    def values(self) -> Any:
        return self.cleaned_data["document"]

    def add_config_errors(self, errors) -> None:
        for error in errors:
            forms.Form.add_error(self, "document", str(error))

    def safe_text(self, stored_masks: set[str]) -> str:
        """The submitted text for re-display, with any typed API key replaced (never echoed)."""
        text = self.data.get("document", "")
        try:
            # Rebuilt from what JSON itself reads, so no spelling of the member (escapes,
            # duplicates) can carry a key past the replacement.
            document = _without_typed_keys(json.loads(text), stored_masks)
            shown = json.dumps(document, indent=2, ensure_ascii=False)
            # A lone surrogate ("\ud800" is valid JSON) cannot be sent as UTF-8: keep it escaped.
            return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", shown)
        except (ValueError, RecursionError):
            pass

        def replace(match: re.Match) -> str:
            value = match.group(2)
            if value == "null":
                return match.group(0)
            try:
                kept = json.loads(value) in stored_masks
            except ValueError:
                kept = False
            return match.group(0) if kept else f'{match.group(1)}"{RETYPE_KEY}"'

        return _API_KEY_VALUE.sub(replace, text)


def _without_typed_keys(value: Any, stored_masks: set[str]) -> Any:
    """`value` with every `api_key` member, wherever it is (a key pasted in the wrong place
    would be echoed just the same), replaced unless it is null or the mask of a stored key."""
    if isinstance(value, list):
        return [_without_typed_keys(item, stored_masks) for item in value]
    if not isinstance(value, dict):
        return value
    cleaned = {}
    for name, item in value.items():
        if name != "api_key":
            cleaned[name] = _without_typed_keys(item, stored_masks)
        elif item is None or (isinstance(item, str) and item in stored_masks):
            cleaned[name] = item
        else:
            cleaned[name] = RETYPE_KEY
    return cleaned


RETYPE_KEY = "…paste the key again…"
_SURROGATE = re.compile("[\ud800-\udfff]")
# For text that is not JSON: the member name in any spelling JSON allows (each letter may be a
# \u escape), quoted or not, then its value: a string (cut at the line end when it is never
# closed, as a string cannot span lines) or a bare word.
_API_KEY_NAME = "".join(rf"(?:{re.escape(c)}|\\u{ord(c):04x})" for c in "api_key")
_API_KEY_VALUE = re.compile(
    rf"""(["']?{_API_KEY_NAME}["']?\s*:\s*)("(?:[^"\\\n]|\\.)*"?|[^\s,}}\]]+)""",
    re.IGNORECASE,
)


class BillingForm(forms.Form):
    billing_email = forms.EmailField(
        required=False,
        max_length=254,
        label="Billing contact email",
        help_text="Invoices and payment notices go here. Blank: the Owners.",
        error_messages={
            "invalid": "billing_email: enter a valid email address, e.g. billing@example.com",
            "max_length": "billing_email: at most 254 characters",
            "null_characters_not_allowed": "billing_email: remove the null characters",
        },
    )

    def clean_billing_email(self):
        return normalize_email(self.cleaned_data["billing_email"])


# -- Audit log filters ---------------------------------------------------------------------------

# Public id prefixes of API keys (keys/secrets.py) and personal access tokens
# (members/access_tokens.py), which sit above this app.
KEY_ID_PREFIX = "key_"
TOKEN_ID_PREFIX = "pat_"  # noqa: S105 (a public id prefix, not a secret)
DATE_INPUT_FORMAT = "%Y-%m-%d"
# Far from datetime's limits, so no zone's offset or the day after carries a day past them.
EARLIEST_YEAR, LATEST_YEAR = 2000, 9000


def _date_field(label: str, name: str, help_text: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        help_text=help_text,
        input_formats=[DATE_INPUT_FORMAT],
        error_messages={"invalid": f"{name}: enter a date as YYYY-MM-DD, e.g. 2026-03-01."},
        widget=forms.DateInput(attrs={"type": "date"}, format=DATE_INPUT_FORMAT),
    )


class AuditFilterForm(forms.Form):
    """The audit log's filters: a GET form, so a filtered log is a URL to share. Days are whole
    days of the viewer's zone, both ends included."""

    actor = forms.CharField(
        label="Actor",
        required=False,
        max_length=254,
        help_text="A member's email, an API key id (key_…) or a token id (pat_…).",
    )
    action = forms.ChoiceField(
        label="Action",
        required=False,
        error_messages={"invalid_choice": "action: pick one of the listed actions."},
    )

    def __init__(self, data=None, *, zone, action_labels: dict[str, str]):
        super().__init__(data)
        self.zone = zone
        self.fields["action"].choices = [("", "All actions"), *action_labels.items()]
        zone_name = zone_label(zone)
        self.fields["from"] = _date_field("From", "from", f"First day, in {zone_name}.")
        self.fields["to"] = _date_field("To", "to", f"Last day (included), in {zone_name}.")

    def clean_actor(self) -> dict[str, str]:
        actor = self.cleaned_data["actor"].strip()
        if not actor:
            return {}
        if actor.startswith(KEY_ID_PREFIX):
            return {"api_key_id": actor}
        if actor.startswith(TOKEN_ID_PREFIX):
            return {"token_id": actor}
        if "@" in actor and " " not in actor:
            return {"actor_email": normalize_email(actor)}
        raise forms.ValidationError(
            "actor: enter a member's email, an API key id (key_…) or a token id (pat_…)."
        )

    def _clean_day(self, name: str):
        day = self.cleaned_data[name]
        if day is not None and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"{name}: pick a day between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
            )
        return day

    def clean_from(self):
        return self._clean_day("from")

    def clean_to(self):
        return self._clean_day("to")

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("from"), cleaned.get("to")
        if first and last and last < first:
            self.add_error("to", "to: must be on or after from; pick a later day or clear it.")
        return cleaned

    def _start_of(self, day):
        return datetime.combine(day, time.min).replace(tzinfo=self.zone)

    def audit_filter(self) -> dict:
        """The valid form as `AuditFilter` arguments (times as instants)."""
        data = self.cleaned_data
        return {
            **data["actor"],
            "action": data["action"],
            "since": self._start_of(data["from"]) if data["from"] else None,
            "until": self._start_of(data["to"] + timedelta(days=1)) if data["to"] else None,
        }

    @property
    def chosen(self) -> bool:
        return any(self.data.get(name) for name in ("actor", "action", "from", "to"))
