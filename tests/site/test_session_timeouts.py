"""Sessions end after SESSION_IDLE_TIMEOUT_MINUTES idle and SESSION_ABSOLUTE_TIMEOUT_HOURS after
signing in; the clocks are moved back in the stored session instead of waiting."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from prism_site.session_timeouts import ACTIVE_AT, ACTIVITY_RESOLUTION_SECONDS, SIGNED_IN_AT
from tests.factories import make_user
from usage.selectors import newest_marker

PASSWORD = "Correct-horse-battery-2026"


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def set_clocks(client, *, signed_in_ago: int, active_ago: int):
    session = client.session
    now = int(time.time())
    session[SIGNED_IN_AT] = now - signed_in_ago
    session[ACTIVE_AT] = now - active_ago
    session.save()


def toasts(response) -> str:
    return response.content.decode().split('id="toasts"', 1)[1]


def test_signing_in_starts_both_clocks(client, db):
    make_user("ann@example.test", password=PASSWORD)
    before = int(time.time())
    client.post(reverse("accounts:login"), {"username": "ann@example.test", "password": PASSWORD})
    session = client.session
    assert session[SIGNED_IN_AT] >= before and session[ACTIVE_AT] == session[SIGNED_IN_AT]


def test_idle_past_the_limit_signs_out_and_says_why(signed_in, organization, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    overview = reverse("orgs:overview", kwargs={"slug": organization.slug})
    set_clocks(signed_in, signed_in_ago=3600, active_ago=30 * 60 - 5)
    assert signed_in.get(overview).status_code == 200  # five seconds to spare

    set_clocks(signed_in, signed_in_ago=3600, active_ago=30 * 60)
    response = signed_in.get(overview)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={overview}"
    login_page = signed_in.get(response["Location"])
    assert "You were signed out after 30 minutes without activity." in toasts(login_page)
    # Signed out for good: the session is gone, not only this request refused.
    assert "_auth_user_id" not in signed_in.session
    assert signed_in.get(overview)["Location"].startswith(reverse("accounts:login"))


def test_a_session_past_its_absolute_limit_ends_even_while_active(signed_in, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT_HOURS = 8
    set_clocks(signed_in, signed_in_ago=8 * 3600, active_ago=0)
    response = signed_in.get(reverse("org_list"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("accounts:login"))
    assert "your session reached its 8-hour limit" in toasts(response)
    assert "_auth_user_id" not in signed_in.session


def test_htmx_requests_redirect_the_whole_page_back_to_where_it_was(signed_in, organization):
    members = reverse("members:list", kwargs={"slug": organization.slug})
    set_clocks(signed_in, signed_in_ago=3600, active_ago=24 * 3600)
    response = signed_in.get(
        members,
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{members}?q=ann"},
    )
    assert response.status_code == 200  # htmx follows HX-Redirect, not a 302 it would swap
    assert response["HX-Redirect"] == f"{reverse('accounts:login')}?next={members}%3Fq%3Dann"
    assert b"Sign in" not in response.content


def test_a_form_sent_after_the_limit_is_not_acted_on(signed_in, organization):
    set_clocks(signed_in, signed_in_ago=3600, active_ago=24 * 3600)
    response = signed_in.post(
        reverse("orgs:rename", kwargs={"slug": organization.slug}), {"name": "Renamed"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    organization.refresh_from_db()
    assert organization.name == "Acme AI"


def test_activity_is_recorded_at_most_once_a_minute(signed_in, organization):
    overview = reverse("orgs:overview", kwargs={"slug": organization.slug})
    set_clocks(signed_in, signed_in_ago=3600, active_ago=ACTIVITY_RESOLUTION_SECONDS - 10)
    recorded = signed_in.session[ACTIVE_AT]
    signed_in.get(overview)
    assert signed_in.session[ACTIVE_AT] == recorded  # within the minute: no session write

    set_clocks(signed_in, signed_in_ago=3600, active_ago=ACTIVITY_RESOLUTION_SECONDS)
    before = int(time.time())
    signed_in.get(overview)
    assert signed_in.session[ACTIVE_AT] >= before
    assert signed_in.session[SIGNED_IN_AT] <= before - 3600  # the absolute clock never moves


def test_the_logs_follow_poll_does_not_keep_a_session_alive(signed_in, organization):
    set_clocks(signed_in, signed_in_ago=3600, active_ago=600)
    recorded = signed_in.session[ACTIVE_AT]
    poll = reverse("logs:newer", kwargs={"slug": organization.slug})
    after = newest_marker(timezone.now() + timedelta(days=1), 0)
    response = signed_in.get(poll, {"range": "1h", "after": after}, headers={"HX-Request": "true"})
    assert response.status_code == 204  # answered: nothing newer
    assert signed_in.session[ACTIVE_AT] == recorded


def test_a_session_from_before_the_limits_starts_its_clocks_on_its_next_request(
    signed_in, organization
):
    session = signed_in.session
    del session[SIGNED_IN_AT], session[ACTIVE_AT]
    session.save()
    before = int(time.time())
    assert signed_in.get(reverse("org_list")).status_code == 200
    assert signed_in.session[SIGNED_IN_AT] >= before
