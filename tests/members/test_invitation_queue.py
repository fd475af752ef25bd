"""Inviting through the task queue: the request answers without touching the mail server, and
the worker delivers (or records why it could not)."""

import select
import socket

from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from members.models import Invitation
from tests.members.worker import run_queued_tasks


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
