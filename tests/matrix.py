"""The route × role matrix as data; each app lists its routes in tests/<app>/routes.py.

Each Route names a URL pattern and the exact status every kind of caller gets:
anonymous, outsider (Owner of another org), viewer, member, admin, owner.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

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
    # Builds the URL kwargs; may create objects (each case runs in a fresh database).
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
