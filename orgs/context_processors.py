"""Navigation context for every page: the org switcher and the current org's access."""

from django.db.models import F
from django.utils.functional import SimpleLazyObject

from orgs.models import Membership

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
    return {
        "access": access,
        # Lazy: pages without the nav (such as error pages) skip the query.
        "recent_memberships": SimpleLazyObject(
            lambda: recent_memberships(user, access.membership if access else None)
        ),
    }
