"""The one access helper: load an org for the current user and check a capability in one step.

Non-members get 404 (an org's existence is not revealed), members without the capability 403.
"""

from dataclasses import dataclass
from functools import cached_property, wraps

from django.contrib.auth.views import redirect_to_login

from orgs.models import Membership, Organization
from orgs.permissions import organization_permissions, role_grants
from orgs.roles import Capability, Role, refusal_sentence
from prism_site.error_responses import NOT_FOUND
from prism_site.errors import NotFound, Refused


@dataclass(frozen=True)
class OrgAccess:
    organization: Organization
    membership: Membership
    permissions: frozenset[str]

    @property
    def role(self) -> Role:
        return Role(self.membership.role)

    def can(self, capability: Capability) -> bool:
        return capability.value in self.permissions

    @cached_property
    def caps(self) -> dict[str, bool]:
        """For templates: `{% if access.caps.change_config %}`."""
        return {codename: True for codename in self.permissions}

    @classmethod
    def of_membership(cls, membership: Membership) -> "OrgAccess":
        """The access a loaded membership row (with its organization) gives: the capabilities of
        its role in `ROLE_CAPABILITIES` (`role_grants`, what the role's guardian grants are
        synced from), without the query for the grants that every admin API call would pay."""
        return cls(
            organization=membership.organization,
            membership=membership,
            permissions=role_grants().get(membership.role, frozenset()),
        )

    def require(self, capability: Capability | None) -> "OrgAccess":
        """This access, or Refused (403) saying what the role can't do and who can help."""
        if capability is not None and not self.can(capability):
            raise Refused(refusal_sentence(self.role, capability), capability=capability.value)
        return self


def access_organization(user, slug: str, capability: Capability | None = None) -> OrgAccess:
    if not user.is_authenticated:
        raise NotFound(NOT_FOUND)
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .first()
    )
    if membership is None:
        raise NotFound(NOT_FOUND)
    return OrgAccess(
        organization=membership.organization,
        membership=membership,
        permissions=organization_permissions(user, membership.organization),
    ).require(capability)


def org_view(capability: Capability):
    """Decorate a view taking `slug`: logs in, authorizes, and sets `request.org_access`."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, slug, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # Set before the capability check: the 403 page of a refusal keeps the org's menu.
            request.org_access = access_organization(request.user, slug)
            request.org_access.require(capability)
            request.org_access.membership.mark_seen()
            if request.session.get("last_org") != slug:
                request.session["last_org"] = slug
            return view(request, request.org_access, *args, **kwargs)

        return wrapped

    return decorator
