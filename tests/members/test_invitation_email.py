"""The invitation email: its content, delivery by the worker after commit, and failures kept
for Resend."""

from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from members.models import Invitation
from members.services import invitation_resend, invitation_revoke, invitations_send
from members.tasks import invitation_emails_send
from orgs.roles import Role
from prism_site.actor import Actor
from tests.members.helpers import (
    BASE_URL,
    invite,
    link_in,
    token_in,
    unreachable_smtp_mailers,
)
from tests.members.worker import run_queued_tasks


def test_email_has_org_inviter_role_link_and_expiry_in_text_and_html(
    organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invite(organization, owner, "ada@example.test", Role.ADMIN)
    assert mailoutbox == [], "the worker sends it, not the request"
    assert run_queued_tasks() == 1
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
    assert not DBTaskResult.objects.exists(), "queued only when the invitation is committed"
    assert run_queued_tasks() == 0
    assert mailoutbox == []


def test_a_batch_sends_one_email_per_address(
    organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = invitations_send(
            organization=organization,
            emails=["a@example.test", "b@example.test", "c@example.test"],
            role=Role.VIEWER,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    assert run_queued_tasks() == 1, "one task for the batch"
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
    run_queued_tasks()
    response = client.get(link_in(mailoutbox[0].body).removeprefix("http://testserver"))
    assert response.status_code == 200
    assert "Join Acme AI on Prism" in response.content.decode()


def test_a_failed_send_is_recorded_and_resend_delivers(
    client, settings, organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    settings.MAILERS = unreachable_smtp_mailers()
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invite(organization, owner, "ada@example.test")
    run_queued_tasks()
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
    run_queued_tasks()
    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    assert (invitation.delivery_failed_at, invitation.delivery_error) == (None, "")
    assert len(mailoutbox) == 1


def queued_deliveries() -> list[list]:
    """The (invitation id, nonce) pairs of every queued email task, as stored in the database."""
    return [
        pair
        for result in DBTaskResult.objects.all()
        for pair in result.args_kwargs["kwargs"]["deliveries"]
    ]


def test_a_late_run_for_an_old_link_neither_sends_nor_marks_the_newer_one(
    settings, organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, old_token = invite(organization, owner, "ada@example.test")
    [old_delivery] = queued_deliveries()
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(
            organization=organization,
            invitation_id=invitation.pk,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    run_queued_tasks()
    assert len(mailoutbox) == 1 and old_token not in mailoutbox[0].body
    # The first link's task runs late, against a mail server that is down.
    settings.MAILERS = unreachable_smtp_mailers()
    outcome = invitation_emails_send.call(deliveries=[old_delivery], base_url=BASE_URL)
    assert outcome == {"sent": 0, "failed": 0, "skipped": 1}
    invitation.refresh_from_db()
    assert invitation.delivery_error == "" and invitation.sent_at is not None
    assert len(mailoutbox) == 1


def test_deliver_skips_invitations_that_vanished(db, mailoutbox):
    outcome = invitation_emails_send.call(deliveries=[(987654, "nonce")], base_url=BASE_URL)
    assert outcome == {"sent": 0, "failed": 0, "skipped": 1}
    assert mailoutbox == []
    assert not Invitation.objects.exists()


def test_running_the_task_twice_sends_once(
    organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(organization, owner, "ada@example.test")
    assert run_queued_tasks() == 1
    task = DBTaskResult.objects.get()
    assert task.return_value == {"sent": 1, "failed": 0, "skipped": 0}
    # The same stored task again (a worker that died before recording its result, a retry).
    DBTaskResult.objects.filter(pk=task.pk).update(status="READY")
    assert run_queued_tasks() == 1
    task.refresh_from_db()
    assert task.return_value == {"sent": 0, "failed": 0, "skipped": 1}
    assert len(mailoutbox) == 1


def test_a_failed_delivery_is_tried_again_when_its_task_runs_again(
    settings, organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    settings.MAILERS = unreachable_smtp_mailers()
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invite(organization, owner, "ada@example.test")
    run_queued_tasks()
    assert DBTaskResult.objects.get().return_value == {"sent": 0, "failed": 1, "skipped": 0}
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    DBTaskResult.objects.update(status="READY")
    run_queued_tasks()
    assert [token_in(message) for message in mailoutbox] == [token]
    invitation.refresh_from_db()
    assert invitation.sent_at is not None and invitation.delivery_failed_at is None


def test_no_email_for_an_invitation_revoked_before_the_worker_ran(
    organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invite(organization, owner, "ada@example.test")
    invitation_revoke(organization=organization, invitation_id=invitation.pk, actor=Actor(owner))
    run_queued_tasks()
    assert mailoutbox == []


def test_the_queue_stores_no_link_token(organization, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch = invitations_send(
            organization=organization,
            emails=["a@example.test", "b@example.test"],
            role=Role.MEMBER,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    stored = str(DBTaskResult.objects.values_list("args_kwargs", flat=True).get())
    for item in batch.issued:
        assert item.token not in stored
        assert item.invitation.token_hash not in stored
    assert [invitation_id for invitation_id, _ in queued_deliveries()] == [
        item.invitation.pk for item in batch.issued
    ]


def test_a_link_made_before_a_secret_key_rotation_still_goes_out(
    settings, organization, owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _, token = invite(organization, owner, "ada@example.test")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-newer-key-" + "x" * 50
    run_queued_tasks()
    assert [token_in(message) for message in mailoutbox] == [token]
