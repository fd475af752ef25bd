"""Invitation emails: built from templates (plain text and HTML), sent after the invite commits."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from members.models import Invitation, token_digest

logger = logging.getLogger(__name__)


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


def invitations_deliver(*, deliveries: list[tuple[int, str]], base_url: str) -> None:
    """Send each (invitation id, token) over one mailer connection; record each outcome.

    Runs after the inviting transaction commits, so a mail failure never loses the invitation:
    the row shows the error and offers Resend.
    """
    invitations = Invitation.objects.select_related("organization", "invited_by").in_bulk(
        [invitation_id for invitation_id, _ in deliveries]
    )
    outgoing = [
        (invitations[invitation_id], token)
        for invitation_id, token in deliveries
        if invitation_id in invitations
    ]
    if not outgoing:
        return
    mailer = mailers.default
    try:
        mailer.open()
    except Exception as error:  # noqa: BLE001 - any transport failure is recorded on each row
        for invitation, token in outgoing:
            _record_failure(invitation, token, error)
        return
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
            else:
                Invitation.objects.filter(pk=invitation.pk, token_hash=token_digest(token)).update(
                    sent_at=timezone.now(), delivery_failed_at=None, delivery_error=""
                )
    finally:
        mailer.close()
