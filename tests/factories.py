"""Factories for test data: users, organizations and memberships through the real services."""

import itertools

from members.models import User
from orgs.models import Organization
from orgs.roles import Role
from orgs.services import membership_add, organization_create
from prism_site.actor import Actor

PASSWORD = "correct-horse-battery-staple"
_sequence = itertools.count(1)


def make_user(
    email: str | None = None, *, display_name: str = "", password: str = PASSWORD
) -> User:
    number = next(_sequence)
    return User.objects.create_user(
        email or f"user{number}@example.test",
        password,
        display_name=display_name or f"User {number}",
    )


def make_organization(name: str | None = None, *, owner: User | None = None) -> Organization:
    return organization_create(
        name=name or f"Org {next(_sequence)}", actor=Actor(owner or make_user())
    )


def add_member(organization: Organization, role: Role | str, user: User | None = None) -> User:
    user = user or make_user()
    membership_add(organization=organization, user=user, role=role)
    return user
