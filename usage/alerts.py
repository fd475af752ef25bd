"""Budget alerts: thresholds of org and key budgets crossed by ingested spend, and their emails."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from keys.models import VirtualKey
from orgs.models import Membership, Organization
from orgs.roles import Role
from orgs.selectors import parse_stored
from usage.models import BudgetAlert, KeyDayRollup
from usage.selectors import PeriodWindow, period_window

# The one period of a "total" budget starts here (the unique row needs a start that is not NULL).
BUDGET_TOTAL_START = datetime(1970, 1, 1, tzinfo=UTC)

# The banner shows at most this many of the current period's alerts (the highest per budget).
BANNER_ALERTS = 5


def _window_start(window: PeriodWindow) -> datetime:
    return window.start or BUDGET_TOTAL_START


def _spend_by(field: str, ids: Iterable[int], window: PeriodWindow) -> dict[int, Decimal]:
    rows = KeyDayRollup.objects.filter(**{f"{field}__in": list(ids)})
    if window.start is not None:
        rows = rows.filter(day__gte=window.start.date())
    return {
        pk: Decimal(str(cost or 0))
        for pk, cost in rows.values_list(field).annotate(Sum("cost")).order_by()
    }


def _crossed(thresholds: list[float], spend: Decimal, limit: Decimal) -> list[Decimal]:
    if spend <= 0:
        return []
    return [
        Decimal(str(threshold))
        for threshold in thresholds
        if spend >= limit * Decimal(str(threshold))
    ]


def budget_alerts_check(
    *, organization_ids: Iterable[int], key_ids: Iterable[int], now: datetime
) -> list[int]:
    """Record each threshold the current period's spend of these orgs and keys has crossed, and
    queue their emails once the ingest transaction commits. Returns the alerts not yet emailed.

    Called inside `logs_ingest`'s transaction with the orgs and keys its new rows touched: a
    handful of queries per batch (the budgets, the keys, one sum per period in use, the alerts),
    whatever the number of rows. Org budgets count when enabled with a limit; key budgets use
    the org's `alert_thresholds`.
    """
    organizations = list(
        Organization.objects.filter(pk__in=set(organization_ids))
        .select_related("config_version")
        .only("pk", "config_version__document")
    )
    thresholds: dict[int, list[float]] = {}
    org_windows: dict[int, tuple[PeriodWindow, Decimal]] = {}
    for organization in organizations:
        version = organization.config_version
        budgets = parse_stored(version.document if version else {}).budgets
        thresholds[organization.pk] = budgets.alert_thresholds
        if budgets.enabled and budgets.limit is not None:
            org_windows[organization.pk] = (
                period_window(budgets.period.value, now),
                Decimal(str(budgets.limit)),
            )
    key_windows = {
        pk: (period_window(period, now), limit, organization_id)
        for pk, period, limit, organization_id in VirtualKey.objects.filter(
            pk__in=set(key_ids), budget_limit__isnull=False, organization__in=thresholds
        ).values_list("pk", "budget_period", "budget_limit", "organization_id")
    }

    candidates: list[BudgetAlert] = []
    by_window: dict[PeriodWindow, list[int]] = defaultdict(list)
    for pk, (window, _) in org_windows.items():
        by_window[window].append(pk)
    for window, pks in by_window.items():
        spend = _spend_by("organization_id", pks, window)
        for pk in pks:
            limit = org_windows[pk][1]
            for threshold in _crossed(thresholds[pk], spend.get(pk, Decimal(0)), limit):
                candidates.append(_alert(pk, None, window, threshold, spend[pk], limit, now))
    by_window = defaultdict(list)
    for pk, (window, _, _) in key_windows.items():
        by_window[window].append(pk)
    for window, pks in by_window.items():
        spend = _spend_by("key_id", pks, window)
        for pk in pks:
            _, limit, organization_id = key_windows[pk]
            for threshold in _crossed(
                thresholds[organization_id], spend.get(pk, Decimal(0)), limit
            ):
                candidates.append(
                    _alert(organization_id, pk, window, threshold, spend[pk], limit, now)
                )
    if not candidates:
        return []

    def identity(alert):
        return (alert.organization_id, alert.key_id, alert.period_start, alert.threshold)

    wanted = Q()
    for alert in candidates:
        wanted |= Q(
            organization_id=alert.organization_id,
            key_id=alert.key_id,
            period_start=alert.period_start,
            threshold=alert.threshold,
        )
    existing = set(
        BudgetAlert.objects.filter(wanted).values_list(
            "organization_id", "key_id", "period_start", "threshold"
        )
    )
    missing = [alert for alert in candidates if identity(alert) not in existing]
    if not missing:
        return []
    # A batch committing meanwhile may insert the same rows: the unique constraints keep one.
    BudgetAlert.objects.bulk_create(missing, ignore_conflicts=True)
    fresh = Q()
    for alert in missing:
        fresh |= Q(
            organization_id=alert.organization_id,
            key_id=alert.key_id,
            period_start=alert.period_start,
            threshold=alert.threshold,
        )
    alert_ids = sorted(
        BudgetAlert.objects.filter(fresh, emailed_at__isnull=True).values_list("pk", flat=True)
    )
    if alert_ids:
        from usage.tasks import budget_alert_emails_send

        transaction.on_commit(lambda: budget_alert_emails_send.enqueue(alert_ids=alert_ids))
    return alert_ids


def _alert(organization_id, key_id, window, threshold, spend, limit, now) -> BudgetAlert:
    return BudgetAlert(
        organization_id=organization_id,
        key_id=key_id,
        period=window.period,
        period_start=_window_start(window),
        period_end=window.end,
        threshold=threshold,
        spend=spend.quantize(Decimal("1e-10")),
        limit=limit,
        created_at=now,
    )


def budget_alert_text(alert: BudgetAlert) -> str:
    """ "Budget: 80% of $500.00 monthly spent (key 'web')" — for the banner and the email."""
    whose = f"key '{alert.key.name}'" if alert.key_id else "the organization"
    period = "in total" if alert.period == "total" else alert.period
    return f"Budget: {alert.percent}% of ${alert.limit:,.2f} {period} spent ({whose})"


def current_budget_alerts(organization: Organization, *, now: datetime | None = None) -> list:
    """The highest alert of each budget (the org's, each key's) in its current period: one query."""
    now = now or timezone.now()
    alerts = (
        BudgetAlert.objects.filter(organization=organization)
        .filter(Q(period_end__isnull=True) | Q(period_end__gt=now), period_start__lte=now)
        .select_related("key")
        .only("key__name", "key_id", "period", "threshold", "limit", "organization_id")
        .order_by("-threshold", "-id")[:50]
    )
    highest: dict[int | None, BudgetAlert] = {}
    for alert in alerts:
        highest.setdefault(alert.key_id, alert)
    return list(highest.values())[:BANNER_ALERTS]


def budget_alerts_deliver(*, alert_ids: list[int]) -> dict[str, int]:
    """Email each alert not yet emailed to the org's Owners and Admins (and the key's creator).

    The row is locked while its email goes out and marked `emailed_at` after, so a second run,
    or two workers at once, send nothing twice."""
    outcome = {"sent": 0, "skipped": 0}
    for alert_id in alert_ids:
        with transaction.atomic():
            alert = (
                BudgetAlert.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("organization", "key__created_by")
                .filter(pk=alert_id, emailed_at__isnull=True)
                .first()
            )
            if alert is None:
                outcome["skipped"] += 1
                continue
            recipients = budget_alert_recipients(alert)
            message = budget_alert_message(alert, recipients)
            if recipients:
                mailers.default.send_messages([message])
            BudgetAlert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
            outcome["sent"] += 1
    return outcome


def budget_alert_message(alert: BudgetAlert, recipients: list[str]) -> EmailMultiAlternatives:
    """The alert as an email: plain text, and the same in HTML (templates/usage/email/)."""
    ended = alert.period_end is not None
    context = {
        "organization": alert.organization,
        "key": alert.key if alert.key_id else None,
        "text": budget_alert_text(alert),
        "spend": f"${alert.spend:,.2f}",
        "limit": f"${alert.limit:,.2f}",
        # Floored: "100%" only once the whole budget is spent.
        "spent_percent": int(alert.spend * 100 / alert.limit) if alert.limit else 100,
        # UTC days as dates, so no time zone moves them; a total budget has neither.
        "first_day": alert.period_start.astimezone(UTC).date() if ended else None,
        "last_day": (alert.period_end - timedelta(days=1)).astimezone(UTC).date()
        if ended
        else None,
        "alerts_path": reverse("budget_alerts:list", kwargs={"slug": alert.organization.slug}),
    }
    subject = " ".join(render_to_string("usage/email/budget_alert_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("usage/email/budget_alert.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(
        render_to_string("usage/email/budget_alert.html", context), "text/html"
    )
    return message


def budget_alert_recipients(alert: BudgetAlert) -> list[str]:
    emails = list(
        Membership.objects.filter(
            organization_id=alert.organization_id, role__in=[Role.OWNER, Role.ADMIN]
        )
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    creator = alert.key.created_by if alert.key_id else None
    if creator is not None and creator.email not in emails:
        emails.append(creator.email)
    return emails
