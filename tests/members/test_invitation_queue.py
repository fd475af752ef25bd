"""Inviting through the task queue: a batch is written in a constant number of queries and
queued as one task, the request answers without touching the mail server, and the worker
delivers (or records why it could not)."""

import select
import socket

from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from members.models import Invitation, InvitationEmail
from members.services import invitations_send
from orgs.models import AuditEvent
from orgs.roles import Role
from prism_site.actor import Actor
from tests.members.helpers import BASE_URL, token_in
from tests.members.worker import run_queued_tasks

FIFTY = [f"person{n}@example.test" for n in range(50)]


# Locks (org, inviter), permissions, members, open invitations, the three limit counts, four
# bulk writes, savepoints; and the task's row once the transaction commits.
QUERIES_PER_BATCH = 15


def test_inviting_50_addresses_costs_the_queries_of_inviting_one(
    organization, owner, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    with django_assert_max_num_queries(QUERIES_PER_BATCH):
        invitations_send(
            organization=organization,
            emails=["first@example.test"],
            role=Role.MEMBER,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    AuditEvent.objects.all().delete()
    with (
        django_assert_max_num_queries(QUERIES_PER_BATCH),
        django_capture_on_commit_callbacks(execute=True),
    ):
        batch = invitations_send(
            organization=organization,
            emails=FIFTY,
            role=Role.MEMBER,
            actor=Actor(owner, ip_address="192.0.2.7"),
            base_url=BASE_URL,
        )
    assert [item.invitation.email for item in batch.issued] == FIFTY
    assert Invitation.objects.filter(email__in=FIFTY).count() == 50
    assert InvitationEmail.objects.filter(email__in=FIFTY).count() == 50
    entries = AuditEvent.objects.filter(action="invitation.create").order_by("id")
    assert [(entry.target, entry.actor_id, entry.actor_email) for entry in entries] == [
        (address, owner.pk, owner.email) for address in FIFTY
    ]
    assert {str(entry.ip_address) for entry in entries} == {"192.0.2.7"}
    assert {tuple(sorted(entry.details.items())) for entry in entries} == {
        (("refreshed", False), ("role", "member"))
    }
    assert DBTaskResult.objects.count() == 1, "one task carries the whole batch"


def test_refreshing_50_open_invitations_is_as_cheap(
    organization, owner, admin, django_assert_max_num_queries, mailoutbox
):
    first = invitations_send(
        organization=organization,
        emails=FIFTY,
        role=Role.VIEWER,
        actor=Actor(owner),
        base_url=BASE_URL,
    )
    with django_assert_max_num_queries(QUERIES_PER_BATCH):
        again = invitations_send(
            organization=organization,
            emails=FIFTY,
            role=Role.MEMBER,
            actor=Actor(admin),
            base_url=BASE_URL,
        )
    assert all(item.refreshed for item in again.issued)
    assert [item.invitation.pk for item in again.issued] == [
        item.invitation.pk for item in first.issued
    ]
    stored = Invitation.objects.in_bulk()
    for old, new in zip(first.issued, again.issued, strict=True):
        invitation = stored[new.invitation.pk]
        assert (invitation.role, invitation.invited_by_id) == (Role.MEMBER, admin.pk)
        assert invitation.token_hash != old.invitation.token_hash
    assert InvitationEmail.objects.count() == 100


def test_the_invite_page_answers_in_constant_queries_and_sends_nothing_itself(
    client,
    organization,
    owner,
    mailoutbox,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    client.force_login(owner)
    url = reverse("members:invite", args=[organization.slug])
    # The batch's queries plus the session, the member's access and the flash message.
    with (
        django_assert_max_num_queries(QUERIES_PER_BATCH + 8),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(url, {"emails": "\n".join(FIFTY), "role": "member"})
    assert response.status_code == 302
    assert mailoutbox == []
    assert run_queued_tasks() == 1
    assert sorted(message.to[0] for message in mailoutbox) == sorted(FIFTY)
    tokens = {token_in(message) for message in mailoutbox}
    assert len(tokens) == 50
    assert not Invitation.objects.filter(sent_at__isnull=True).exists()


def test_a_mail_server_that_does_not_answer_does_not_hold_up_the_invite(
    client, settings, organization, owner, django_capture_on_commit_callbacks
):
    # A server that takes connections (the kernel queues them) and never says a word.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": silent.getsockname()[1], "timeout": 1},
            }
        }
        client.force_login(owner)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("members:invite", args=[organization.slug]),
                {"emails": "ada@example.test", "role": "member"},
            )
        assert response.status_code == 302
        readable, _, _ = select.select([silent], [], [], 0)
        assert readable == [], "the request did not even connect to the mail server"
        page = client.get(reverse("members:list", args=[organization.slug])).content.decode()
        assert "Not sent yet" in page and "Not delivered" not in page

        # The worker meets the silent server, gives up after its timeout, records why.
        run_queued_tasks()
    invitation = Invitation.objects.get()
    assert invitation.sent_at is None and invitation.delivery_failed_at is not None
    assert "timed out" in invitation.delivery_error
    assert DBTaskResult.objects.get().return_value == {"sent": 0, "failed": 1, "skipped": 0}
    page = client.get(reverse("members:list", args=[organization.slug])).content.decode()
    assert "Not delivered" in page and "timed out" in page
