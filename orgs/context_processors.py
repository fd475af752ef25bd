"""Navigation context for every page: the org switcher and the current org's access."""

import re

from django.db.models import F
from django.utils.functional import SimpleLazyObject

from orgs.access import OrgAccess
from orgs.models import Membership

# An org page's address; its slug names the org whose menu a 404 there keeps.
ORG_PATH = re.compile(r"^/o/(?P<slug>[-a-zA-Z0-9_]+)/")

# The switcher shows this many orgs, most recently visited first; the rest are one link away on
# the organizations page. A fixed number keeps every page's queries and size the same however
# many orgs the user belongs to.
SWITCHER_RECENT = 6


def recent_memberships(user, current: Membership | None = None) -> list[Membership]:
    """The user's most recently seen memberships, the current org's always among them."""
    recent = list(
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by(F("last_seen_at").desc(nulls_last=True), "organization__name", "organization_id")[
            :SWITCHER_RECENT
        ]
    )
    if current is not None and all(m.pk != current.pk for m in recent):
        # Seen more than a few minutes before the last SWITCHER_RECENT others: still shown.
        recent = [current, *recent[: SWITCHER_RECENT - 1]]
    return recent


def organization_navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    access = getattr(request, "org_access", None)
    if access is None:
        access = _access_from_path(request, user)
    return {
        "access": access,
        # Lazy: pages without the nav (such as error pages) skip the query.
        "recent_memberships": SimpleLazyObject(
            lambda: recent_memberships(user, access.membership if access else None)
        ),
    }


def _access_from_path(request, user) -> OrgAccess | None:
    """On an address under /o/<slug>/ that no org view answered (a 404 of the URL map: a
    refused or missing page of an org view has `request.org_access` already), the org's menu
    for a member of it, so they keep their place; None for anyone else, so a 404 never reveals
    an org the user does not belong to."""
    match = ORG_PATH.match(request.path_info)
    if match is None:
        return None
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=match["slug"])
        .first()
    )
    return OrgAccess.of_membership(membership) if membership else None
