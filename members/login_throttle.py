"""Login throttling per (account, IP) with a finite cool-off.

The key is the email as typed, so an unknown email is throttled exactly like a known one and
the answers cannot be told apart.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from members.models import LoginThrottle
from prism_site.addresses import EMAIL_MAX_LENGTH, normalize_email


def _key(email: str) -> str:
    # The form caps what is typed, but lower-casing can lengthen it ("İ" becomes two
    # characters); a cut key still throttles, a longer one would not fit the column.
    return normalize_email(email)[:EMAIL_MAX_LENGTH]


def seconds_locked(*, email: str, ip_address: str) -> int:
    throttle = LoginThrottle.objects.filter(email=_key(email), ip_address=ip_address).first()
    if throttle is None or throttle.locked_until is None:
        return 0
    remaining = (throttle.locked_until - timezone.now()).total_seconds()
    return max(0, int(remaining + 0.999))


@transaction.atomic
def failure_record(*, email: str, ip_address: str) -> None:
    now = timezone.now()
    throttle, _ = LoginThrottle.objects.select_for_update().get_or_create(
        email=_key(email), ip_address=ip_address
    )
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    expired_lock = throttle.locked_until is not None and throttle.locked_until <= now
    if expired_lock or now - throttle.window_started_at > window:
        throttle.failures = 0
        throttle.window_started_at = now
        throttle.locked_until = None
    throttle.failures += 1
    if throttle.failures >= settings.LOGIN_FAILURE_LIMIT:
        throttle.locked_until = now + timedelta(seconds=settings.LOGIN_COOLOFF_SECONDS)
    throttle.save()


def success_record(*, email: str, ip_address: str) -> None:
    LoginThrottle.objects.filter(email=_key(email), ip_address=ip_address).delete()
