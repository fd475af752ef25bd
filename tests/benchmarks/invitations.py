"""Benchmark: one request inviting 50 addresses, and the worker that then emails them. Prints the
request's time and queries and the worker's; asserts nothing timed.

Run: .venv/bin/python -m pytest -m bench -s tests/benchmarks/invitations.py
"""

import time

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Invitation
from tests.members.worker import run_queued_tasks

pytestmark = pytest.mark.bench


@pytest.mark.django_db(transaction=True)
def test_invitation_batch_of_50(client, organization, owner):
    client.force_login(owner)
    url = reverse("members:invite", args=[organization.slug])
    emails = ", ".join(f"batch{n:02}@example.test" for n in range(50))
    mail.outbox = []
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.post(url, {"emails": emails, "role": "member"})
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 302
    assert Invitation.objects.count() == 50 and mail.outbox == []
    request_queries = len(queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        run_queued_tasks()
        worker_ms = (time.perf_counter() - started) * 1000
    assert len(mail.outbox) == 50
    print(
        f"\nInvite 50 addresses ({connection.vendor}, locmem mail): the request "
        f"{elapsed:.0f} ms, {request_queries} queries, no email sent; the worker then sent 50 "
        f"in {worker_ms:.0f} ms, {len(queries.captured_queries)} queries"
    )
