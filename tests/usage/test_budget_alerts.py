"""Budget alerts: one alert and one email per threshold per period, to Owners and Admins (and a
key's creator), sent by the worker after the ingest commits; the banner on the org's pages."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from orgs.roles import Role
from tests.factories import add_member, make_organization, make_user
from tests.keys.conftest import make_key, set_org_config
from tests.members.worker import run_queued_tasks
from tests.races import run_together
from tests.usage.conftest import KeyRef, log_row
from usage.models import BudgetAlert
from usage.services import logs_ingest

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _ref(key) -> KeyRef:
    return KeyRef(key.pk, key.public_id, key.secret_hash, key.organization_id)


@pytest.fixture
def acme():
    owner = make_user("owner@acme.test")
    organization = make_organization("Acme", owner=owner)
    add_member(organization, Role.ADMIN, make_user("admin@acme.test"))
    member = add_member(organization, Role.MEMBER, make_user("member@acme.test"))
    add_member(organization, Role.VIEWER, make_user("viewer@acme.test"))
    set_org_config(organization, {"budgets": {"enabled": True, "limit": 100, "period": "monthly"}})
    main = make_key(organization, owner, "main").key
    web = make_key(organization, member, "web", budget_limit=10, budget_period="daily").key
    return organization, _ref(main), _ref(web)


def _spend(key: KeyRef, cost: float, at: datetime = NOW, now: datetime = NOW, rows=None):
    rows = rows or [log_row(key, at - timedelta(minutes=1), cost=cost)]
    return logs_ingest(rows=rows, now=now)


def _ingest(capture, *args, **kwargs):
    with capture(execute=True):
        return _spend(*args, **kwargs)


def test_each_threshold_crossed_alerts_and_emails_once_per_period(
    acme, mailoutbox, django_capture_on_commit_callbacks
):
    organization, main, _ = acme
    capture = django_capture_on_commit_callbacks
    _ingest(capture, main, 40)
    assert not BudgetAlert.objects.exists()
    assert run_queued_tasks() == 0

    batch = [log_row(main, NOW - timedelta(minutes=2), cost=45)]
    _ingest(capture, main, 0, rows=batch)  # 85 of 100: 50% and 80% at once
    assert run_queued_tasks() == 1
    assert sorted(str(a.threshold) for a in BudgetAlert.objects.all()) == ["0.500", "0.800"]
    assert len(mailoutbox) == 2
    assert {tuple(m.to) for m in mailoutbox} == {("admin@acme.test", "owner@acme.test")}
    assert "Budget: 80% of $100.00 monthly spent (the organization)" in {
        m.subject.split("] ", 1)[1] for m in mailoutbox
    }
    assert all(a.emailed_at for a in BudgetAlert.objects.all())

    # The same batch again (a gateway's retry) and more spend under 100%: nothing new.
    _ingest(capture, main, 0, rows=batch)
    _ingest(capture, main, 5)
    assert run_queued_tasks() == 0
    assert len(mailoutbox) == 2

    _ingest(capture, main, 20)  # 110 of 100
    assert run_queued_tasks() == 1
    assert len(mailoutbox) == 3
    assert BudgetAlert.objects.filter(key=None, threshold="1.0").count() == 1

    # The next month starts from nothing: crossing 50% again alerts again.
    january = datetime(2027, 1, 3, 9, 0, tzinfo=UTC)
    _ingest(capture, main, 60, at=january, now=january)
    assert run_queued_tasks() == 1
    assert len(mailoutbox) == 4
    assert BudgetAlert.objects.filter(period_start=datetime(2027, 1, 1, tzinfo=UTC)).count() == 1


def test_key_budget_alert_goes_to_owners_admins_and_the_key_creator(
    acme, mailoutbox, django_capture_on_commit_callbacks
):
    _, _, web = acme
    _ingest(django_capture_on_commit_callbacks, web, 8)  # 8 of the key's 10 a day
    assert run_queued_tasks() == 1
    alerts = BudgetAlert.objects.filter(key_id=web.pk)
    assert sorted(str(a.threshold) for a in alerts) == ["0.500", "0.800"]
    assert {tuple(m.to) for m in mailoutbox} == {
        ("admin@acme.test", "owner@acme.test", "member@acme.test")
    }
    assert "Budget: 80% of $10.00 daily spent (key 'web')" in mailoutbox[1].subject + (
        mailoutbox[0].subject
    )


def test_each_email_has_a_plain_text_and_an_html_part_with_the_same_figures(
    acme, mailoutbox, django_capture_on_commit_callbacks
):
    organization, main, web = acme
    _ingest(django_capture_on_commit_callbacks, web, 8.5)  # 8.50 of the key's 10 a day
    _ingest(django_capture_on_commit_callbacks, main, 60)  # 68.50 of the org's 100 a month
    run_queued_tasks()
    alerts_path = f"/o/{organization.slug}/alerts/"
    by_subject = {message.subject: message for message in mailoutbox}

    key_mail = by_subject["[Acme] Budget: 80% of $10.00 daily spent (key 'web')"]
    assert key_mail.content_subtype == "plain"
    text = key_mail.body
    assert "Budget: 80% of $10.00 daily spent (key 'web')." in text
    assert "Spend so far this period: $8.50 of $10.00 (85%)." in text
    assert "Period: 2026-12-02 to 2026-12-02 (UTC)." in text
    assert "Raise the budget of the key 'web' under Settings > API keys" in text
    assert alerts_path in text and "creator of the key 'web'" in text
    [(html, mimetype)] = key_mail.alternatives
    assert mimetype == "text/html"
    assert "<strong>Budget: 80% of $10.00 daily spent (key &#x27;web&#x27;)</strong>" in html
    assert "<strong>$8.50</strong> of $10.00 (85%)" in html
    assert "2026-12-02 to 2026-12-02 (UTC)" in html
    assert "the key <strong>web</strong>" in html and alerts_path in html

    org_mail = by_subject["[Acme] Budget: 50% of $100.00 monthly spent (the organization)"]
    assert "Spend so far this period: $68.50 of $100.00 (68%)." in org_mail.body
    assert "Period: 2026-12-01 to 2026-12-31 (UTC)." in org_mail.body
    assert "under Settings > Organization" in org_mail.body
    assert "creator of the key" not in org_mail.body
    [(html, _)] = org_mail.alternatives
    assert "<strong>$68.50</strong> of $100.00 (68%)" in html
    assert "the organization Acme" in html and "Settings &gt; Organization" in html


def test_running_the_email_task_twice_sends_each_alert_once(
    acme, mailoutbox, django_capture_on_commit_callbacks
):
    from usage.tasks import budget_alert_emails_send

    _, main, _ = acme
    _ingest(django_capture_on_commit_callbacks, main, 55)
    ids = list(BudgetAlert.objects.values_list("pk", flat=True))
    budget_alert_emails_send.enqueue(alert_ids=ids)
    assert run_queued_tasks() == 2
    assert len(mailoutbox) == 1


def test_nothing_is_queued_before_the_ingest_commits(acme, mailoutbox):
    _, main, _ = acme
    _spend(main, 55)
    assert BudgetAlert.objects.count() == 1
    assert run_queued_tasks() == 0
    assert mailoutbox == []


def test_an_org_without_a_budget_gets_no_alert(mailoutbox, django_capture_on_commit_callbacks):
    owner = make_user()
    organization = make_organization(owner=owner)
    key = _ref(make_key(organization, owner, "main").key)
    _ingest(django_capture_on_commit_callbacks, key, 10_000)
    assert not BudgetAlert.objects.exists()
    assert run_queued_tasks() == 0


def test_banner_shows_to_the_orgs_members_only(acme, client, django_capture_on_commit_callbacks):
    organization, main, _ = acme
    now = datetime.now(UTC)
    _ingest(django_capture_on_commit_callbacks, main, 85, at=now, now=now)
    text = "Budget: 80% of $100.00 monthly spent (the organization)"
    overview = reverse("orgs:overview", kwargs={"slug": organization.slug})

    client.force_login(organization.memberships.get(user__email="viewer@acme.test").user)
    page = client.get(overview).content.decode()
    assert text in page
    assert "Budget: 50%" not in page  # the highest threshold crossed, once
    # Every page of the org carries it, not only the overview; the alerts list is for Owners
    # and Admins, so a Viewer's banner does not link there.
    members = client.get(reverse("members:list", kwargs={"slug": organization.slug}))
    assert text in members.content.decode()
    alerts_url = reverse("budget_alerts:list", kwargs={"slug": organization.slug})
    assert alerts_url not in page
    client.force_login(organization.memberships.get(user__email="admin@acme.test").user)
    logs = client.get(reverse("logs:list", kwargs={"slug": organization.slug})).content.decode()
    assert text in logs
    assert f'href="{alerts_url}">See budget alerts' in logs

    outsider = make_user()
    other = make_organization(owner=outsider)
    client.force_login(outsider)
    assert (
        text
        not in client.get(reverse("orgs:overview", kwargs={"slug": other.slug})).content.decode()
    )
    assert client.get(overview).status_code == 404


def test_alert_list_shows_the_orgs_alerts(
    acme, client, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    organization, main, web = acme
    _ingest(django_capture_on_commit_callbacks, main, 85)
    _ingest(django_capture_on_commit_callbacks, web, 9)
    run_queued_tasks()
    client.force_login(organization.memberships.get(user__email="admin@acme.test").user)
    with django_assert_max_num_queries(13):  # 12, and the budget banner on every org page
        page = client.get(reverse("budget_alerts:list", kwargs={"slug": organization.slug}))
    body = page.content.decode()
    assert body.count("Budget: ") >= 4
    assert "(key &#x27;web&#x27;)" in body


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent transactions are what this tests; SQLite runs one writer at a time",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_create_one_alert_per_threshold(mailoutbox):
    owner = make_user()
    organization = make_organization(owner=owner)
    set_org_config(organization, {"budgets": {"enabled": True, "limit": 10}})
    key = _ref(make_key(organization, owner, "main").key)
    batches = [[log_row(key, NOW - timedelta(minutes=n), cost=6)] for n in range(6)]
    outcomes = run_together(lambda n: logs_ingest(rows=batches[n], now=NOW), 6)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(str(a.threshold) for a in BudgetAlert.objects.all()) == [
        "0.500",
        "0.800",
        "1.000",
    ]
    run_queued_tasks()
    assert len(mailoutbox) == 3


def test_only_owners_and_admins_have_the_alerts_link_in_the_side_menu(acme, client):
    organization, _, _ = acme
    alerts_url = reverse("budget_alerts:list", kwargs={"slug": organization.slug})
    # The side menu's entry (an icon, then the words); the budget banner's link says "See budget
    # alerts".
    link = re.compile(
        rf'<a href="{re.escape(alerts_url)}"[^>]*>(?:(?!</a>).)*>Budget alerts<', re.S
    )
    overview = reverse("orgs:overview", kwargs={"slug": organization.slug})
    for membership in organization.memberships.select_related("user"):
        client.force_login(membership.user)
        page = client.get(overview).content.decode()
        shown = link.search(page) is not None
        assert shown == (membership.role in (Role.OWNER, Role.ADMIN)), membership.role
        # The link goes where the role may go.
        expected = 200 if membership.role in (Role.OWNER, Role.ADMIN) else 403
        assert client.get(alerts_url).status_code == expected
