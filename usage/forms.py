"""The Logs page's filters: a GET form, so a filtered view is a URL to share."""

from datetime import UTC, datetime, timedelta

from django import forms
from django.db.models import Q
from django.utils import timezone

from keys.models import VirtualKey
from orgs.models import Organization
from prism_site.timezones import zone_label
from usage.models import COST_DIGITS
from usage.selectors import STATUS_CLASSES, LogFilter

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
RANGES["30d"] = timedelta(days=30)
DEFAULT_RANGE = "24h"
CUSTOM_RANGE = "custom"
RANGE_LABELS = {"1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days"}
RANGE_LABELS["30d"] = "Last 30 days"
RANGE_LABELS[CUSTOM_RANGE] = "Custom (from, to)"
# A custom range is at most this wide, as wide as the longest preset plus a day: every query
# stays bounded by a month of one org's rows.
MAX_CUSTOM_RANGE = timedelta(days=31)
# The largest latency a log holds (PositiveIntegerField).
MAX_LATENCY_MS = 2_147_483_647
# Far enough from datetime's limits that no zone's offset carries a time past them.
EARLIEST_YEAR, LATEST_YEAR = 2000, 9000
# `datetime-local` inputs send this, in the viewer's zone.
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
# Display options of the page, not filters: left out of the export's name.
NOT_FILTERS = ("follow",)


def _cost_field(label: str, name: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_digits=COST_DIGITS["max_digits"],
        decimal_places=COST_DIGITS["decimal_places"],
        error_messages={
            "invalid": f"{name}: enter an amount in USD, e.g. 0.05.",
            "min_value": f"{name}: must be 0 or more.",
            "max_decimal_places": f"{name}: at most 10 decimal places.",
            "max_whole_digits": f"{name}: at most 10 digits before the decimal point.",
            "max_digits": f"{name}: at most 20 digits.",
        },
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
    )


def _time_field(label: str, name: str, help_text: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        help_text=help_text,
        input_formats=[LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S"],
        error_messages={"invalid": f"{name}: enter a date and time, e.g. 2026-03-01T09:30."},
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )


def local_input(moment: datetime) -> str:
    """A time as a `from`/`to` value: minutes, in the active (the viewer's) zone."""
    return timezone.localtime(moment).strftime(LOCAL_INPUT_FORMAT)


class LogFilterForm(forms.Form):
    range = forms.ChoiceField(
        label="Time range",
        required=False,
        choices=list(RANGE_LABELS.items()),
        error_messages={"invalid_choice": "range: must be one of 1h, 24h, 7d, 30d."},
    )
    # Text, not a list of every key: an org may hold thousands, and the page must not grow
    # with them. One query turns the name or id into the key.
    key = forms.CharField(
        label="Key",
        required=False,
        max_length=200,
        help_text="A key's name or id (key_…).",
    )
    model = forms.CharField(label="Model", required=False, max_length=200)
    provider = forms.CharField(label="Provider", required=False, max_length=64)
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *((name, name) for name in STATUS_CLASSES)],
        error_messages={"invalid_choice": "status: must be one of 2xx, 4xx, 5xx."},
    )
    errors_only = forms.BooleanField(label="Errors only", required=False)
    min_latency = forms.IntegerField(
        label="Min latency (ms)",
        required=False,
        min_value=0,
        max_value=MAX_LATENCY_MS,
        error_messages={"invalid": "min_latency: enter a whole number of milliseconds."},
    )
    min_cost = _cost_field("Min cost (USD)", "min_cost")
    max_cost = _cost_field("Max cost (USD)", "max_cost")
    request_id = forms.CharField(label="Request id", required=False, max_length=128)
    user = forms.CharField(label="User", required=False, max_length=200)
    session = forms.CharField(label="Session", required=False, max_length=200)
    # A metadata name is 1 to 64 characters and a string value at most 200 (usage/services.py).
    meta = forms.CharField(
        label="Metadata",
        required=False,
        max_length=265,
        help_text="name=value, e.g. team=search",
        widget=forms.TextInput(attrs={"placeholder": "team=search"}),
    )
    follow = forms.BooleanField(label="Follow new requests", required=False)

    def __init__(self, data=None, *, organization: Organization):
        super().__init__(data)
        # "from" is a Python keyword, so these two are added here rather than declared above.
        zone = zone_label(timezone.get_current_timezone())
        self.fields["from"] = _time_field(
            "From", "from", f"Used when the range is Custom; in your time zone, {zone}."
        )
        self.fields["to"] = _time_field("To", "to", "Empty: up to now.")
        self.order_fields(["range", "from", "to"])
        self.organization = organization
        self.key_pk: int | None = None

    def clean_key(self) -> str:
        """The key's public id, from its id or its name; the key's row id is kept in `key_pk`."""
        text = self.cleaned_data["key"].strip()
        if not text:
            return ""
        matches = list(
            VirtualKey.objects.filter(organization=self.organization)
            .filter(Q(public_id=text) | Q(name=text))
            .order_by("-created_at", "-pk")
            .values_list("pk", "public_id")[:3]
        )
        by_id = [match for match in matches if match[1] == text]
        if by_id:
            matches = by_id
        if not matches:
            raise forms.ValidationError(
                "key: no key of this organization has that name or id; check it on API keys."
            )
        if len(matches) > 1:
            raise forms.ValidationError(
                f"key: {len(matches)} keys are named {text!r}; enter the one's id (key_…)."
            )
        self.key_pk, public_id = matches[0]
        return public_id

    def clean_range(self) -> str:
        return self.cleaned_data["range"] or DEFAULT_RANGE

    def _clean_time(self, name: str) -> datetime | None:
        value = self.cleaned_data[name]
        if value is None:
            return None
        try:
            year = value.astimezone(UTC).year
        except OverflowError:
            year = 0
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"{name}: pick a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
            )
        return value

    def clean_from(self) -> datetime | None:
        return self._clean_time("from")

    def clean_to(self) -> datetime | None:
        return self._clean_time("to")

    def clean_meta(self) -> tuple[str, str] | None:
        text = self.cleaned_data["meta"]
        if not text:
            return None
        name, equals, value = text.partition("=")
        name = name.strip()
        if not equals or not name:
            raise forms.ValidationError("meta: write it as name=value, e.g. team=search.")
        return name, value

    def clean(self):
        data = super().clean()
        low, high = data.get("min_cost"), data.get("max_cost")
        if low is not None and high is not None and high < low:
            self.add_error("max_cost", "max_cost: must be at least min_cost; raise it or clear it.")
        if data.get("range") != CUSTOM_RANGE:
            return data
        start, end = data.get("from"), data.get("to")
        if start is None:
            if "from" not in self.errors:
                self.add_error("from", "from: pick the start of the custom range.")
            return data
        end_or_now = end or timezone.now()
        if end is not None and end <= start:
            self.add_error("to", "to: must be later than from; pick a later end or clear it.")
        elif end_or_now - start > MAX_CUSTOM_RANGE:
            self.add_error(
                "from",
                f"from: a custom range is at most {MAX_CUSTOM_RANGE.days} days wide; "
                "pick a later start or an earlier end.",
            )
        return data

    @property
    def is_custom(self) -> bool:
        return self.cleaned_data.get("range") == CUSTOM_RANGE

    def log_filter(self, now: datetime) -> LogFilter:
        """The selector's filter from the valid form (call after `is_valid()`)."""
        data = self.cleaned_data
        if self.is_custom:
            since, until = data["from"], data["to"]
        else:
            since, until = now - RANGES[data["range"]], None
        return LogFilter(
            since=since,
            until=until,
            key_id=self.key_pk if data["key"] else None,
            model=data["model"],
            provider=data["provider"],
            status_class=data["status"],
            errors_only=data["errors_only"],
            min_latency_ms=data["min_latency"],
            min_cost=data["min_cost"],
            max_cost=data["max_cost"],
            request_id=data["request_id"],
            end_user=data["user"],
            session_id=data["session"],
            metadata=data["meta"],
        )

    @property
    def follows(self) -> bool:
        """Whether new requests can join the page: asked for, and the range reaches up to now."""
        data = self.cleaned_data
        return bool(data.get("follow")) and not (self.is_custom and data.get("to"))

    def chosen(self) -> list[tuple[str, str]]:
        """The filters in use, as (name, value), for the export's file name."""
        data = self.cleaned_data
        chosen = []
        for name in self.fields:
            value = data.get(name)
            if name in NOT_FILTERS or value in (None, "", False):
                continue
            if name in ("from", "to"):
                if not self.is_custom:
                    continue
                value = value.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
            elif name == "meta":
                value = "=".join(value)
            chosen.append((name, str(value)))
        return chosen
