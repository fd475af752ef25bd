"""The Analytics page's choices: a GET form (period, buckets, custom dates, a chart's CSV), so a
view of the analytics is a URL to share."""

from datetime import date, datetime, timedelta, tzinfo

from django import forms
from django.conf import settings

from usage.analytics import MAX_DAYS, MAX_HOUR_BUCKET_DAYS, dates_range, preset_range

PERIOD_DAYS = {"24h": 1, "7d": 7, "30d": 30}
PERIOD_LABELS = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "custom": "Custom dates",
}
DEFAULT_PERIOD = "7d"
CHARTS = ("requests", "spend", "tokens", "latency")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AnalyticsForm(forms.Form):
    period = forms.ChoiceField(
        label="Period",
        required=False,
        choices=list(PERIOD_LABELS.items()),
        error_messages={"invalid_choice": "period: must be one of 24h, 7d, 30d, custom."},
    )
    bucket = forms.ChoiceField(
        label="Per",
        required=False,
        choices=[("", "Automatic"), ("hour", "Hour"), ("day", "Day")],
        error_messages={"invalid_choice": "bucket: must be hour or day."},
    )
    format = forms.ChoiceField(
        required=False,
        choices=[("", "Page"), ("csv", "CSV")],
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "format: must be csv or left out."},
    )
    chart = forms.ChoiceField(
        required=False,
        choices=[("", "")] + [(name, name) for name in CHARTS],
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": f"chart: must be one of {', '.join(CHARTS)}."},
    )

    def __init__(self, data=None, *, today: date):
        super().__init__(data)
        self.today = today
        # Added here since `from` is a Python keyword: the URL then reads ?from=…&to=…
        self.fields["from"] = forms.DateField(
            label="From",
            required=False,
            widget=DATE_INPUT,
            error_messages={"invalid": "from: enter a date as YYYY-MM-DD."},
        )
        self.fields["to"] = forms.DateField(
            label="To",
            required=False,
            widget=DATE_INPUT,
            error_messages={"invalid": "to: enter a date as YYYY-MM-DD."},
        )
        self.order_fields(["period", "from", "to", "bucket", "format", "chart"])

    def clean_period(self) -> str:
        return self.cleaned_data["period"] or DEFAULT_PERIOD

    def clean(self):
        data = super().clean()
        period = data.get("period")
        if period == "custom":
            self._clean_dates(data)
        if data.get("format") == "csv" and not data.get("chart"):
            self.add_error("chart", f"chart: name the chart to export, one of {', '.join(CHARTS)}.")
        if period and not self.errors:
            days = self.days(data)
            bucket = data.get("bucket") or ("hour" if days <= 2 else "day")
            if period == "24h":
                # A day of day buckets is one bar: 24 hours are always shown by the hour.
                bucket = "hour"
            if bucket == "hour" and days > MAX_HOUR_BUCKET_DAYS:
                self.add_error(
                    "bucket",
                    f"bucket: hours are shown for at most {MAX_HOUR_BUCKET_DAYS} days; "
                    "pick Day or a shorter period.",
                )
            data["bucket"] = bucket
        return data

    def _clean_dates(self, data) -> None:
        first, last = data.get("from"), data.get("to")
        for name, value in (("from", first), ("to", last)):
            if value is None and name not in self.errors:
                self.add_error(name, f"{name}: enter a date (YYYY-MM-DD) for a custom period.")
        if first is None or last is None:
            return
        oldest = self.today - timedelta(days=settings.USAGE_ROLLUP_RETENTION_DAYS)
        if first < oldest:
            self.add_error(
                "from",
                f"from: usage is kept {settings.USAGE_ROLLUP_RETENTION_DAYS} days; "
                f"pick {oldest.isoformat()} or later.",
            )
        if last > self.today:
            self.add_error("to", f"to: pick today ({self.today.isoformat()}) or an earlier day.")
        if last < first:
            self.add_error("to", "to: must be the same day as From or later.")
        elif (last - first).days + 1 > MAX_DAYS:
            self.add_error("to", f"to: a period is at most {MAX_DAYS} days; move From or To.")

    def days(self, data=None) -> int:
        data = data if data is not None else self.cleaned_data
        if data["period"] == "custom":
            return (data["to"] - data["from"]).days + 1
        return PERIOD_DAYS[data["period"]]

    def window(self, *, now: datetime, zone: tzinfo) -> tuple[datetime, datetime, str]:
        """The period's [start, end) and its bucket, from the valid form."""
        data = self.cleaned_data
        bucket = data["bucket"]
        if data["period"] == "custom":
            start, end = dates_range(data["from"], data["to"], zone=zone)
        else:
            start, end = preset_range(
                PERIOD_DAYS[data["period"]], now=now, zone=zone, bucket=bucket
            )
        return start, end, bucket
