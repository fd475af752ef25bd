"""Shared fixtures: one organization with a user per role, plus an outsider in another org."""

import pytest
from django.db import transaction
from django.utils import timezone

from members.models import User
from orgs.models import Organization
from orgs.roles import Role
from tests.factories import add_member, make_organization, make_user


@pytest.fixture
def owner(db):
    return make_user("owner@example.test", display_name="Olivia Owner")


@pytest.fixture
def organization(owner):
    return make_organization("Acme AI", owner=owner)


@pytest.fixture
def admin(organization):
    return add_member(
        organization, Role.ADMIN, make_user("admin@example.test", display_name="Adam Admin")
    )


@pytest.fixture
def member(organization):
    return add_member(
        organization, Role.MEMBER, make_user("member@example.test", display_name="Mia Member")
    )


@pytest.fixture
def viewer(organization):
    return add_member(
        organization, Role.VIEWER, make_user("viewer@example.test", display_name="Vic Viewer")
    )


@pytest.fixture
def other_organization(db):
    return make_organization("Other Corp", owner=make_user("other-owner@example.test"))


@pytest.fixture
def outsider(other_organization):
    """Owner of another org: has every right there and none here."""
    return add_member(other_organization, Role.OWNER, make_user("outsider@example.test"))


@pytest.fixture
def users_by_role(owner, admin, member, viewer, outsider):
    return {
        "owner": owner,
        "admin": admin,
        "member": member,
        "viewer": viewer,
        "outsider": outsider,
    }


# -- One organization for a whole module ------------------------------------------------------


@pytest.fixture(scope="module")
def shared_org(django_db_setup, django_db_blocker) -> dict[str, int]:
    """The organization, Owner and Admin above, built once for a module of many cases and rolled
    back after its last one; each case runs in a savepoint of its own (the module needs
    `pytestmark = pytest.mark.django_db`), so every case starts from them exactly as built.
    Ids only: `shared_organization`, `shared_owner` and `shared_admin` load fresh copies."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = make_user("owner@example.test", display_name="Olivia Owner")
        organization = make_organization("Acme AI", owner=owner)
        admin = make_user("admin@example.test", display_name="Adam Admin")
        add_member(organization, Role.ADMIN, admin)
        # Seen just now, as anyone signing in is: a request to an org page does not also write
        # the member's last-seen time (the members tests cover that write).
        organization.memberships.update(last_seen_at=timezone.now())
        yield {"organization": organization.pk, "owner": owner.pk, "admin": admin.pk}
        transaction.set_rollback(True)


@pytest.fixture
def shared_organization(shared_org) -> Organization:
    return Organization.objects.get(pk=shared_org["organization"])


@pytest.fixture
def shared_owner(shared_org) -> User:
    return User.objects.get(pk=shared_org["owner"])


@pytest.fixture
def shared_admin(shared_org) -> User:
    return User.objects.get(pk=shared_org["admin"])


# -- Emptying the database after a transactional test ------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def flush_by_delete():
    """After each transactional test (races, browser, live server) Django empties every table
    with one TRUNCATE, which on PostgreSQL makes new files for all ~40 tables and their indexes
    and syncs them to disk: over a second each time. A DELETE of the few rows a test wrote takes
    milliseconds; every foreign key is deferred, so the order does not matter. Sequences are left
    alone as TRUNCATE leaves them (a test asking for them reset still gets TRUNCATE). Content
    types and permissions are kept: Django writes them again after every flush, the same rows."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush
    kept = {"django_content_type", "auth_permission"}

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        # Table names come from the schema, quoted.
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables if table not in kept]  # noqa: S608

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


# -- The longest files first --------------------------------------------------------------------

# `make test` runs pytest-xdist with `--dist loadfile --no-loadscope-reorder`: each worker takes
# the next whole file, in collection order, whenever it runs short of work. A long file taken
# last leaves the other worker idle until it ends, so the longest files (as measured on
# PostgreSQL; a few seconds or more each) are put first and the many short ones fill the gaps.
LONGEST_FIRST = (
    "tests/site/test_input_fuzz.py",
    "tests/browser/test_accessibility.py",
    "tests/browser/test_org_config.py",
    "tests/test_route_matrix.py",
    "tests/browser/test_layout.py",
    "tests/members/test_bad_input.py",
    "tests/orgs/test_provider_secrets.py",
    "tests/keys/test_bad_input.py",
    "tests/orgs/test_config_numbers.py",
    "tests/browser/test_invitations.py",
    "tests/browser/test_logs.py",
    "tests/browser/test_keys.py",
    "tests/browser/test_admin_api.py",
    "tests/browser/test_usage_pages.py",
    "tests/members/test_membership_state_machine.py",
    "tests/browser/test_foundation_flow.py",
    "tests/orgs/test_config_schema.py",
    "tests/keys/test_views.py",
    "tests/usage/test_logs_page.py",
    "tests/api/test_readme_walkthrough.py",
    "tests/orgs/test_config_property.py",
    "tests/api/test_schema_fuzz.py",
    "tests/api/test_credential_matrix.py",
    "tests/site/test_deployment.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """After pytest-django's ordering (kept within each file), the longest files first."""
    rank = {path: number for number, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
