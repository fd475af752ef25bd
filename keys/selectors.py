"""Reads of keys shared by the pages and the API: the inventory page, one key, the org's limits."""

import re
from dataclasses import dataclass
from datetime import datetime

from keys.models import KeyStatus, RetiredSecret, VirtualKey
from keys.permissions import KeyRights, member_key_rights
from keys.policy import OrgLimits, org_limits_from_config
from keys.secrets import PUBLIC_ID_LENGTH, PUBLIC_ID_PREFIX
from orgs.selectors import organization_config
from prism_site.errors import NotFound
from prism_site.paging import Keyset, Page

KEY_PAGE_SIZE = 50
# A key of another org is as absent as none.
NO_SUCH_KEY = "No such key in this organization."
PUBLIC_ID = re.compile(rf"{re.escape(PUBLIC_ID_PREFIX)}[0-9A-Za-z]{{{PUBLIC_ID_LENGTH}}}")


@dataclass(frozen=True)
class InventoryRow:
    key: VirtualKey
    status: KeyStatus
    rights: KeyRights


@dataclass(frozen=True)
class InventoryPage:
    rows: list[InventoryRow]
    page: Page


# Newest first, through the org's (organization, -created_at, -id) index.
INVENTORY_ORDER = Keyset("keys", ("-created_at", "-id"))


def key_inventory_page(
    organization,
    *,
    user,
    capabilities: frozenset[str],
    now: datetime,
    status: str | None = None,
    created_by=None,
    cursor: str | None = None,
    size: int = KEY_PAGE_SIZE,
) -> InventoryPage:
    """Newest first, by keyset (two queries whatever the number of keys, and one more when the
    page holds admin-scoped keys of other creators)."""
    keys = (
        VirtualKey.objects.filter(organization=organization)
        .with_status(status or "", now)
        .select_related("created_by")
    )
    if created_by is not None:
        keys = keys.filter(created_by=created_by)
    keyset = INVENTORY_ORDER.page(keys, cursor, size=size)
    page = keyset.rows
    rights = member_key_rights(user, page, capabilities=capabilities, now=now)
    rows = [InventoryRow(key=key, status=key.status_at(now), rights=rights[key.pk]) for key in page]
    return InventoryPage(rows=rows, page=keyset)


def key_in_organization(organization, public_id: str) -> VirtualKey:
    """The key with this public id in this org; a key of another org is as absent as none, and
    so is a malformed id (never sent to the database: PostgreSQL refuses a NUL in text)."""
    if not isinstance(public_id, str) or not PUBLIC_ID.fullmatch(public_id):
        raise NotFound(NO_SUCH_KEY)
    key = (
        VirtualKey.objects.select_related("created_by", "revoked_by")
        .filter(organization=organization, public_id=public_id)
        .first()
    )
    if key is None:
        raise NotFound(NO_SUCH_KEY)
    # The caller's org instance is already loaded; reuse it rather than join it again.
    key.organization = organization
    return key


def key_grace_secret(key: VirtualKey, now: datetime) -> RetiredSecret | None:
    """The retired secret that stays valid longest, when one is still inside its grace period."""
    return (
        RetiredSecret.objects.filter(key=key, valid_until__gt=now).order_by("-valid_until").first()
    )


def organization_limits(organization) -> OrgLimits:
    return org_limits_from_config(organization_config(organization))
