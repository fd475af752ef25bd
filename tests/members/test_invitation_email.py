"""The invitation email: its content, delivery after commit, and failures kept for Resend."""

from django.urls import reverse

from members.emails import invitations_deliver
from members.models import Invitation
from members.services import invitation_resend, invitations_send
from orgs.roles import Role
from tests.members.helpers import (
    BASE_URL,
    invite,
    link_in,
    token_in,
    unreachable_smtp_mailers,
)


def test_email_has_org_inviter_role_link_and_expiry_in_text_and_html(
    organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invite(organization, owner, "ada@example.test", Role.ADMIN)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ada@example.test"]
    assert message.subject == "Olivia Owner invited you to Acme AI on Prism"
    expiry = invitation.expires_at.strftime("%Y-%m-%d %H:%M")
    link = f"http://testserver/invitations/{token}/"
    for text in (message.body, message.alternatives[0].content):
        assert "Acme AI" in text
        assert "Olivia Owner" in text and "owner@example.test" in text
        assert "as Admin" in text or "<strong>Admin</strong>" in text
        assert link in text
        assert expiry in text
    assert message.alternatives[0].mimetype == "text/html"
    assert token_in(message) == token
    invitation.refresh_from_db()
    assert invitation.sent_at is not None and invitation.delivery_error == ""


def test_nothing_is_sent_before_the_transaction_commits(organization, owner, mailoutbox):
    # Without executing the on-commit callbacks (the test transaction never commits).
    invite(organization, owner, "ada@example.test")
    assert mailoutbox == []


def test_a_batch_sends_one_email_per_address(
    organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = invitations_send(
            organization=organization,
            emails=["a@example.test", "b@example.test", "c@example.test"],
            role=Role.VIEWER,
            inviter=owner,
            base_url=BASE_URL,
        )
    assert sorted(message.to[0] for message in mailoutbox) == [
        "a@example.test",
        "b@example.test",
        "c@example.test",
    ]
    tokens = {token_in(message) for message in mailoutbox}
    assert tokens == {item.token for item in batch.issued}


def test_the_link_opens_the_invitation(
    client, organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(organization, owner, "ada@example.test", Role.MEMBER)
    response = client.get(link_in(mailoutbox[0].body).removeprefix("http://testserver"))
    assert response.status_code == 200
    assert "Join Acme AI on Prism" in response.content.decode()


def test_a_failed_send_is_recorded_and_resend_delivers(
    client, settings, organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    settings.MAILERS = unreachable_smtp_mailers()
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invite(organization, owner, "ada@example.test")
    invitation.refresh_from_db()
    assert invitation.is_open, "the invitation survives a failed send"
    assert invitation.sent_at is None
    assert invitation.delivery_failed_at is not None
    assert "ConnectionRefusedError" in invitation.delivery_error
    assert invitation.status == "not_delivered"

    client.force_login(owner)
    page = client.get(reverse("members:list", args=[organization.slug])).content.decode()
    assert "Not delivered" in page and "ConnectionRefusedError" in page
    assert reverse("members:invitation_resend", args=[organization.slug, invitation.pk]) in page

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("members:invitation_resend", args=[organization.slug, invitation.pk])
        )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    assert (invitation.delivery_failed_at, invitation.delivery_error) == (None, "")
    assert len(mailoutbox) == 1


def test_a_late_failure_of_an_old_link_does_not_mark_the_newer_one(
    settings, organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, old_token = invite(organization, owner, "ada@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(
            organization=organization, invitation_id=invitation.pk, actor=owner, base_url=BASE_URL
        )
    settings.MAILERS = unreachable_smtp_mailers()
    invitations_deliver(deliveries=[(invitation.pk, old_token)], base_url=BASE_URL)
    invitation.refresh_from_db()
    assert invitation.delivery_error == "" and invitation.sent_at is not None


def test_deliver_skips_invitations_that_vanished(db, mailoutbox):
    invitations_deliver(deliveries=[(987654, "token")], base_url=BASE_URL)
    assert mailoutbox == []
    assert not Invitation.objects.exists()
