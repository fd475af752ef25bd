"""Who calls the admin API, and the one helper its routes use to reach an org with a capability.

The credential is checked in `members.api_auth` (it knows keys and personal access tokens); what
it resolves to lives here, low enough for every app's router to use without importing members.
"""

import functools
import re
from dataclasses import dataclass
from typing import Any

from orgs.access import OrgAccess
from orgs.models import ConfigVersion, Membership, Organization
from orgs.roles import Capability
from prism_site.actor import Actor
from prism_site.error_responses import NOT_FOUND
from prism_site.errors import NotFound, Refused
from prism_site.queries import ModelColumns, prepared_row


@dataclass(frozen=True)
class ApiCaller:
    """An authenticated admin API credential: an admin-scoped key acts for its own org with its
    creator's current role there; a personal access token acts as its user in each of their
    orgs with their current role there."""

    user: Any
    # The key's org; None for a token, which reaches every org of its user.
    organization: Organization | None
    ip_address: str | None = None
    api_key_id: str = ""
    token_id: str = ""
    # A key's: its creator's membership in the key's org, loaded with the credential (with the
    # org and its config version), so a route of that org reads no membership again.
    membership: Membership | None = None

    @property
    def is_token(self) -> bool:
        return bool(self.token_id)

    @property
    def credential_id(self) -> str:
        """The credential's public id (`key_…` or `pat_…`): what rate limits and idempotency
        keys are counted against."""
        return self.token_id or self.api_key_id

    @property
    def actor(self) -> Actor:
        return Actor(
            user=self.user,
            ip_address=self.ip_address,
            api_key_id=self.api_key_id,
            token_id=self.token_id,
        )


def api_organization(
    caller: ApiCaller, slug: str, capability: Capability | None = None
) -> OrgAccess:
    """The org `slug` as `caller` may use it: 404 for an org the credential cannot reach (another
    org than the key's; an org the token's user is not in), 403 for a missing capability."""
    if caller.organization is not None and caller.organization.slug != slug:
        raise NotFound(NOT_FOUND)
    if not SLUG.fullmatch(slug):
        # No org has it (and PostgreSQL refuses text holding NUL): not found, without a query.
        raise NotFound(NOT_FOUND)
    membership = caller.membership
    if membership is None or membership.organization.slug != slug:
        membership = api_membership(caller.user, slug)
    if membership is None:
        raise NotFound(NOT_FOUND)
    try:
        return OrgAccess.of_membership(membership).require(capability)
    except Refused as refusal:
        if caller.is_token:
            raise
        # A key's rights are its creator's: say so, or the caller would look for a role of theirs.
        raise Refused(
            f"This key acts with its creator's role in {slug}. {refusal.message}",
            capability=refusal.capability,
        ) from None


# What an org's slug can be (Organization.slug, a SlugField); anything else names no org.
SLUG = re.compile(rf"[-a-zA-Z0-9_]{{1,{Organization._meta.get_field('slug').max_length}}}")

_MEMBERSHIP = ModelColumns(Membership, "m")
_ORGANIZATION = ModelColumns(Organization, "o")
_VERSION = ModelColumns(ConfigVersion, "v")


@functools.cache
def _membership_sql() -> str:
    return (
        f"SELECT {_MEMBERSHIP.select}, {_ORGANIZATION.select}, {_VERSION.select} "  # noqa: S608 - our own names
        f"FROM {_MEMBERSHIP.table} "
        f"JOIN {_ORGANIZATION.table} "
        f"ON {_ORGANIZATION.column('id')} = {_MEMBERSHIP.column('organization')} "
        f"LEFT JOIN {_VERSION.table} "
        f"ON {_VERSION.column('id')} = {_ORGANIZATION.column('config_version')} "
        f"WHERE {_ORGANIZATION.column('slug')} = %s AND {_MEMBERSHIP.column('user')} = %s"
    )


def api_membership(user, slug: str) -> Membership | None:
    """`user`'s membership in the org `slug`, with the org and its config version in force: one
    query for everything a route needs to decide and, for the config read, to answer (written
    out: it runs on every admin API call by token, see `ModelColumns`)."""
    row = prepared_row(_membership_sql(), [slug, user.pk])
    if row is None:
        return None
    membership = _MEMBERSHIP.instance(row, 0)
    organization = _ORGANIZATION.instance(row, len(_MEMBERSHIP))
    organization.config_version = _VERSION.instance(row, len(_MEMBERSHIP) + len(_ORGANIZATION))
    membership.organization = organization
    return membership
