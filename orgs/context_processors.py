"""Navigation context for every page: the org switcher and the current org's access."""

from django.utils.functional import SimpleLazyObject

from orgs.models import Membership


def organization_navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def my_memberships():
        return list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name", "organization__id")
        )

    return {
        "access": getattr(request, "org_access", None),
        # Lazy: pages without the nav (such as error pages) skip the query.
        "my_memberships": SimpleLazyObject(my_memberships),
    }
