"""POST /v1/gateway/logs: limits (413 before the body is parsed), each row in its own key's org,
retries change nothing, bad rows reported by field while good rows are kept."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from gateway.batches import MAX_BATCH_BYTES, MAX_BATCH_ROWS
from tests.gateway.conftest import bearer, json_of
from tests.keys.conftest import make_key
from usage.models import HourlyRollup, RequestLog

pytestmark = pytest.mark.django_db


def post_logs(body, **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Client().generic(
        "POST",
        "/v1/gateway/logs",
        raw,
        content_type="application/json",
        headers=bearer(),
        **extra,
    )


def row(key, request_id, **fields):
    return {
        "request_id": request_id,
        "key_id": key.public_id,
        "model": "gpt-4o",
        "provider": "openai",
        "status_code": 200,
        "latency_ms": 420,
        "ttft_ms": 80,
        "input_tokens": 100,
        "output_tokens": 20,
        "cost": 0.0125,
        "started_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "user": "end-user-1",
        "session_id": "s-1",
        **fields,
    }


@pytest.fixture
def two_keys(organization, owner, other_organization):
    other_owner = other_organization.memberships.get().user
    return make_key(organization, owner).key, make_key(other_organization, other_owner).key


def test_a_mixed_batch_lands_each_row_in_its_own_keys_org(two_keys, organization):
    ours, theirs = two_keys
    response = post_logs({"logs": [row(ours, "req-1"), row(theirs, "req-2"), row(ours, "req-3")]})
    assert response.status_code == 200
    assert json_of(response) == {"accepted": 3, "duplicates": 0, "rejected": []}
    stored = dict(RequestLog.objects.values_list("request_id", "organization_id"))
    assert stored == {
        "req-1": organization.pk,
        "req-2": theirs.organization_id,
        "req-3": organization.pk,
    }
    assert RequestLog.objects.get(request_id="req-1").cost == Decimal("0.0125")


def test_a_retried_batch_changes_nothing(two_keys):
    ours, theirs = two_keys
    batch = {"logs": [row(ours, "req-1"), row(theirs, "req-2")]}
    assert json_of(post_logs(batch))["accepted"] == 2

    def snapshot():
        return (
            list(RequestLog.objects.order_by("request_id").values()),
            list(HourlyRollup.objects.order_by("pk").values()),
        )

    before = snapshot()
    assert json_of(post_logs(batch)) == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert snapshot() == before


def test_bad_rows_are_reported_by_field_and_good_rows_kept(two_keys):
    ours, _ = two_keys
    batch = {
        "logs": [
            row(ours, "good-1"),
            row(ours, "bad-latency", latency_ms="slow"),
            {**row(ours, "unknown-key"), "key_id": "key_0000000000000000000A"},
            "not an object",
            row(ours, "good-2"),
        ]
    }
    response = post_logs(batch)
    assert response.status_code == 200
    answer = json_of(response)
    assert answer["accepted"] == 2 and answer["duplicates"] == 0
    reported = {(entry["index"], entry["field"]) for entry in answer["rejected"]}
    assert reported == {(1, "latency_ms"), (2, "key_id"), (3, "")}
    assert all(entry["reason"] for entry in answer["rejected"])
    assert set(RequestLog.objects.values_list("request_id", flat=True)) == {"good-1", "good-2"}


def test_more_rows_than_a_batch_takes_is_a_413(two_keys):
    ours, _ = two_keys
    rows = [row(ours, f"req-{number}") for number in range(MAX_BATCH_ROWS + 1)]
    response = post_logs({"logs": rows})
    assert response.status_code == 413
    error = json_of(response)["error"]
    assert error["code"] == "batch_too_large" and error["param"] == "logs"
    assert str(MAX_BATCH_ROWS) in error["message"]
    assert not RequestLog.objects.exists()


def test_a_body_over_the_limit_is_refused_by_its_content_length_before_reading():
    # Only the declared size is sent: the answer comes from the header, not from parsing.
    response = post_logs(b"{}", CONTENT_LENGTH=str(MAX_BATCH_BYTES + 1))
    assert response.status_code == 413
    assert json_of(response)["error"]["type"] == "invalid_request_error"


def test_fewer_rows_than_the_limit_but_over_5_mb_is_a_413(two_keys):
    ours, _ = two_keys
    padding = "x" * 190
    rows = [row(ours, f"req-{number}", session_id=padding) for number in range(4_500)]
    body = json.dumps({"logs": [{**r, "metadata": {"p": padding * 4}} for r in rows]}).encode()
    assert len(body) > MAX_BATCH_BYTES
    assert post_logs(body).status_code == 413


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"not json", ""),
        (b"\xff\xfe", ""),
        # Longer than Python reads an integer (4,300 digits): bad JSON, not a server error.
        (b'{"logs": [' + b"1" * 100_000 + b"]}", ""),
        (b"[]", "logs"),
        (b'{"logs": {"a": 1}}', "logs"),
        (b'{"rows": []}', "logs"),
    ],
)
def test_a_body_that_is_not_a_batch_is_a_400(body, param):
    response = post_logs(body)
    assert response.status_code == 400
    error = json_of(response)["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_a_token_is_all_it_takes_no_csrf_token(two_keys):
    ours, _ = two_keys
    strict = Client(enforce_csrf_checks=True)
    for path, headers in (
        ("/v1/gateway/logs", bearer()),
        ("/agentcc/webhook/logs/", {"X-Webhook-Secret": bearer()["Authorization"][7:]}),
    ):
        response = strict.post(
            path, json.dumps({"logs": []}), content_type="application/json", headers=headers
        )
        assert response.status_code == 200, (path, response.content)
