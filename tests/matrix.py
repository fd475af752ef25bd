"""The route × role matrix as data; each app lists its routes in tests/<app>/routes.py.

Each Route names a URL pattern and the exact status every kind of caller gets:
anonymous, outsider (Owner of another org), viewer, member, admin, owner.
"""

import copy
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.test import Client
from django.utils import timezone

CALLERS = ("anonymous", "outsider", "viewer", "member", "admin", "owner")

LOGIN = 302  # anonymous callers are sent to the sign-in page


def expect(anonymous: int, outsider: int, viewer: int, member: int, admin: int, owner: int):
    return dict(zip(CALLERS, (anonymous, outsider, viewer, member, admin, owner), strict=True))


def org_slug(ctx) -> dict:
    return {"slug": ctx.organization.slug}


@dataclass(frozen=True)
class Route:
    name: str
    expect: dict[str, int]
    method: str = "GET"
    # Builds the URL kwargs; may create objects (each case runs in a savepoint rolled back after
    # it, so every case starts from the same organization and users).
    kwargs: Callable = org_slug
    data: Callable | None = None
    htmx: bool = False
    query: str = ""
    label: str = field(default="")

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}{' ' + self.label if self.label else ''}"


@dataclass
class MatrixContext:
    organization: object
    users: dict


def build_matrix_org() -> tuple[int, dict[str, int]]:
    """The organization and callers the matrix runs against, as the tests/conftest.py fixtures
    build them (owner, organization, admin, member, viewer, outsider); returns their ids, so each
    case can load fresh instances that no earlier case has touched."""
    from orgs.roles import Role
    from tests.factories import add_member, make_organization, make_user

    owner = make_user("owner@example.test", display_name="Olivia Owner")
    organization = make_organization("Acme AI", owner=owner)
    users = {
        "owner": owner,
        "admin": add_member(
            organization, Role.ADMIN, make_user("admin@example.test", display_name="Adam Admin")
        ),
        "member": add_member(
            organization, Role.MEMBER, make_user("member@example.test", display_name="Mia Member")
        ),
        "viewer": add_member(
            organization, Role.VIEWER, make_user("viewer@example.test", display_name="Vic Viewer")
        ),
    }
    other_organization = make_organization(
        "Other Corp", owner=make_user("other-owner@example.test")
    )
    users["outsider"] = add_member(
        other_organization, Role.OWNER, make_user("outsider@example.test")
    )
    # Seen just now, as anyone signing in is: a case that opens an org page does not also write
    # the member's last-seen time (the members tests cover that write).
    organization.memberships.update(last_seen_at=timezone.now())
    other_organization.memberships.update(last_seen_at=timezone.now())
    return organization.pk, {role: user.pk for role, user in users.items()}


def signed_in_clients(user_ids: dict[str, int]) -> dict[str, Client]:
    """A test client per caller, signed in once for the whole matrix (anonymous: none). A case
    runs in a savepoint rolled back after it, so the session it ends or changes is back as it
    was; `client_cookies_restored` puts the client's cookies back too."""
    from members.models import User

    clients = {"anonymous": Client()}
    for role, pk in user_ids.items():
        clients[role] = Client()
        clients[role].force_login(User.objects.get(pk=pk))
    return clients


@contextmanager
def client_cookies_restored(client: Client):
    """Whatever the request sets (a new session after signing in or a password change, a
    message), the next case starts with the cookies the caller had."""
    cookies = copy.deepcopy(client.cookies)
    try:
        yield client
    finally:
        client.cookies = cookies


def load_matrix_context(organization_id: int, user_ids: dict[str, int]) -> MatrixContext:
    """Fresh instances of the matrix org and callers (two queries)."""
    from members.models import User
    from orgs.models import Organization

    by_id = User.objects.in_bulk(user_ids.values())
    return MatrixContext(
        organization=Organization.objects.get(pk=organization_id),
        users={role: by_id[pk] for role, pk in user_ids.items()},
    )
