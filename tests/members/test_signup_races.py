"""Concurrent sign-ups with one new email make one account; the rest are told it exists."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from members.models import User

THREADS = 10

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers; SQLite serialises them, so the race cannot happen",
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_number", range(3))
def test_concurrent_signups_with_one_email_make_one_account(round_number):
    email = f"race-{round_number}@example.test"
    barrier = threading.Barrier(THREADS)
    answers, unexpected = [], []

    def worker(index):
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                reverse("accounts:signup"),
                # Case differs per thread: the address is one account however it is typed.
                {"email": email.upper() if index % 2 else email, "password": "a-long-pass-4321"},
            )
            answers.append((response.status_code, response.content.decode()))
        except Exception as error:  # noqa: BLE001 - any server error is the failure we look for
            unexpected.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert User.objects.filter(email=email).count() == 1
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (THREADS - 1) + [302]
    for status, page in answers:
        if status == 200:
            assert "An account with this email already exists" in page
