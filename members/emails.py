"""Invitation emails: link tokens, the message (plain text and HTML), and delivery by the worker."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.http import urlsafe_base64_encode

from members.models import Invitation, token_digest

logger = logging.getLogger(__name__)

_LINK_TOKEN_SALT = "members.invitation-link"  # noqa: S105 - a salt, not a secret


def link_token(nonce: str, *, secret: str | None = None) -> str:
    """The secret of an invitation link: an HMAC of a random nonce under SECRET_KEY.

    The delivery task is a database row that waits for the worker; it carries the nonce, never
    the token, so the queue (like the invitation, which keeps only the token's SHA-256) cannot
    open an invitation without the server's key.
    """
    digest = salted_hmac(_LINK_TOKEN_SALT, nonce, secret=secret, algorithm="sha256").digest()
    return urlsafe_base64_encode(digest)


def _current_token(invitation: Invitation, nonce: str) -> str | None:
    """The token this nonce makes under SECRET_KEY (or a fallback key, after a rotation) when it
    is still the invitation's link; None once a resend or refresh replaced it."""
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        token = link_token(nonce, secret=secret)
        if token_digest(token) == invitation.token_hash:
            return token
    return None


def invitation_link(*, base_url: str, token: str) -> str:
    return base_url.rstrip("/") + reverse("invitations:detail", kwargs={"token": token})


def invitation_message(*, invitation: Invitation, link: str) -> EmailMultiAlternatives:
    inviter = invitation.invited_by
    context = {
        "organization": invitation.organization,
        "inviter_name": inviter.get_full_name() if inviter else "An Owner or Admin",
        "inviter_email": inviter.email if inviter else "",
        "role": invitation.get_role_display(),
        "link": link,
        "expires_at": invitation.expires_at,
    }
    subject = " ".join(render_to_string("members/email/invitation_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("members/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    html = render_to_string("members/email/invitation.html", context)
    message.attach_alternative(html, "text/html")
    return message


def _record_failure(invitation: Invitation, token: str, error: Exception) -> None:
    # Only the attempt for the current token may mark the row: a newer resend owns it now.
    reason = f"{type(error).__name__}: {error}"[:300]
    Invitation.objects.filter(pk=invitation.pk, token_hash=token_digest(token)).update(
        delivery_failed_at=timezone.now(), delivery_error=reason
    )
    logger.warning("Invitation %s was not delivered: %s", invitation.pk, reason)


def invitations_deliver(*, deliveries: list[tuple[int, str]], base_url: str) -> dict[str, int]:
    """Email each (invitation id, link nonce) over one mailer connection; record each outcome.

    The worker runs this after the inviting transaction committed, so a mail failure never loses
    the invitation: the row shows the error and offers Resend. Running it again sends nothing
    twice: an invitation is skipped once its current link was emailed (`sent_at`), when a newer
    link replaced this one, and when it was accepted, revoked or has expired meanwhile.
    Returns how many were sent, failed and skipped (the task's result).
    """
    nonces = dict(deliveries)
    invitations = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(
            pk__in=nonces,
            sent_at__isnull=True,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .in_bulk()
    )
    outgoing = []
    for invitation_id, nonce in nonces.items():
        invitation = invitations.get(invitation_id)
        token = invitation and _current_token(invitation, nonce)
        if token:
            outgoing.append((invitation, token))
    outcome = {"sent": 0, "failed": 0, "skipped": len(nonces) - len(outgoing)}
    if not outgoing:
        return outcome
    mailer = mailers.default
    try:
        mailer.open()
    except Exception as error:  # noqa: BLE001 - any transport failure is recorded on each row
        for invitation, token in outgoing:
            _record_failure(invitation, token, error)
        outcome["failed"] = len(outgoing)
        return outcome
    try:
        for invitation, token in outgoing:
            message = invitation_message(
                invitation=invitation, link=invitation_link(base_url=base_url, token=token)
            )
            try:
                sent = mailer.send_messages([message])
                if not sent:
                    raise RuntimeError("the mail server accepted no message")
            except Exception as error:  # noqa: BLE001 - recorded on the row, shown with Resend
                _record_failure(invitation, token, error)
                outcome["failed"] += 1
            else:
                Invitation.objects.filter(pk=invitation.pk, token_hash=token_digest(token)).update(
                    sent_at=timezone.now(), delivery_failed_at=None, delivery_error=""
                )
                outcome["sent"] += 1
    finally:
        mailer.close()
    return outcome
