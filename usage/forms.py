"""The Logs page's filters: a GET form, so a filtered view is a URL to share."""

from datetime import datetime, timedelta

from django import forms

from keys.models import VirtualKey
from orgs.models import Organization
from usage.selectors import STATUS_CLASSES, LogFilter

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
RANGES["30d"] = timedelta(days=30)
DEFAULT_RANGE = "24h"
RANGE_LABELS = {"1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days"}
RANGE_LABELS["30d"] = "Last 30 days"
# The largest latency a log holds (PositiveIntegerField).
MAX_LATENCY_MS = 2_147_483_647


class LogFilterForm(forms.Form):
    range = forms.ChoiceField(
        label="Time range",
        required=False,
        choices=list(RANGE_LABELS.items()),
        error_messages={"invalid_choice": "range: must be one of 1h, 24h, 7d, 30d."},
    )
    key = forms.ChoiceField(
        label="Key",
        required=False,
        error_messages={"invalid_choice": "key: no key of this organization has that id."},
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
    request_id = forms.CharField(label="Request id", required=False, max_length=128)
    user = forms.CharField(label="User", required=False, max_length=200)

    def __init__(self, data=None, *, organization: Organization):
        super().__init__(data)
        # One query: the org's keys by name, for the choice list and to turn an id into a row.
        self.keys = list(
            VirtualKey.objects.filter(organization=organization)
            .order_by("name", "pk")
            .values_list("pk", "public_id", "name")
        )
        self.fields["key"].choices = [("", "Any key")] + [
            (public_id, name) for _, public_id, name in self.keys
        ]

    def clean_range(self) -> str:
        return self.cleaned_data["range"] or DEFAULT_RANGE

    def log_filter(self, now: datetime) -> LogFilter:
        """The selector's filter from the valid form (call after `is_valid()`)."""
        data = self.cleaned_data
        key_ids = {public_id: pk for pk, public_id, _ in self.keys}
        return LogFilter(
            since=now - RANGES[data["range"]],
            key_id=key_ids.get(data["key"]) if data["key"] else None,
            model=data["model"],
            provider=data["provider"],
            status_class=data["status"],
            errors_only=data["errors_only"],
            min_latency_ms=data["min_latency"],
            request_id=data["request_id"],
            end_user=data["user"],
        )

    def chosen(self) -> list[tuple[str, str]]:
        """The filters in use, as (name, value), for the export's file name."""
        data = self.cleaned_data
        return [(name, str(data[name])) for name in self.fields if data.get(name)]
