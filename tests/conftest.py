"""Shared fixtures: one organization with a user per role, plus an outsider in another org."""

import pytest

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
