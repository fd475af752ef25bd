"""Key secrets: generating them, hashing them, and finding the key a presented secret belongs to.

A secret is `sk-prism-` + 40 random base62 characters + a 6-character base62 CRC32 checksum of
those 40. The checksum lets the gateway and secret scanners reject a mistyped or invented string
without touching the database. Only the SHA-256 hash, a display prefix and the last 4 characters
are ever stored: secrets carry over 230 bits of entropy, so a fast hash is enough (no salt or
stretching needed) and it keeps lookup a single indexed equality.
"""

import enum
import functools
import hashlib
import hmac
import secrets
import string
import zlib
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from keys.models import KeyStatus, RetiredSecret, VirtualKey
from orgs.models import ConfigVersion, Membership, Organization
from prism_site.queries import ModelColumns, only_row, prepared_row

SECRET_PREFIX = "sk-prism-"  # noqa: S105 - the public format marker, not a secret
PUBLIC_ID_PREFIX = "key_"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
RANDOM_LENGTH = 40
CHECKSUM_LENGTH = 6
SECRET_LENGTH = len(SECRET_PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
# Shown in lists: the fixed prefix and the first 4 random characters.
DISPLAY_PREFIX_LENGTH = len(SECRET_PREFIX) + 4
PUBLIC_ID_LENGTH = 20


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def generate_secret() -> str:
    body = _random_base62(RANDOM_LENGTH)
    return f"{SECRET_PREFIX}{body}{_checksum(body)}"


def generate_public_id() -> str:
    return f"{PUBLIC_ID_PREFIX}{_random_base62(PUBLIC_ID_LENGTH)}"


def is_well_formed(secret: str) -> bool:
    """Prefix, length, alphabet and checksum are right (says nothing about whether it exists)."""
    if not isinstance(secret, str) or len(secret) != SECRET_LENGTH:
        return False
    if not secret.startswith(SECRET_PREFIX):
        return False
    rest = secret[len(SECRET_PREFIX) :]
    if any(character not in BASE62 for character in rest):
        return False
    body, checksum = rest[:RANDOM_LENGTH], rest[RANDOM_LENGTH:]
    return hmac.compare_digest(_checksum(body), checksum)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_parts(secret: str) -> tuple[str, str]:
    """(prefix, last 4) — the only parts of a secret that are stored in clear."""
    return secret[:DISPLAY_PREFIX_LENGTH], secret[-4:]


class LookupResult(enum.StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    # A secret replaced by rotation whose grace period has ended.
    ROTATED = "rotated"


LOOKUP_MESSAGES = {
    LookupResult.UNKNOWN: "This API key is not valid.",
    LookupResult.REVOKED: "This API key has been revoked.",
    LookupResult.EXPIRED: "This API key has expired.",
    LookupResult.ROTATED: "This API key was rotated and its old secret no longer works.",
}


@dataclass(frozen=True)
class KeyLookup:
    result: LookupResult
    key: VirtualKey | None = None
    # True when the secret matched is a previous one still inside its grace period.
    via_grace: bool = False

    @property
    def usable(self) -> bool:
        return self.result == LookupResult.OK

    @property
    def message(self) -> str:
        return LOOKUP_MESSAGES.get(self.result, "")


def lookup(secret: str, *, now: datetime | None = None) -> KeyLookup:
    """Find the key a presented secret belongs to and say whether it may be used now.

    Written for the APIs' bearer-key authentication (the admin API's `Authorization: Bearer
    sk-prism-…`); the pages never take a key secret. Kept and tested here so that the rotation
    grace and revocation rules live in one place.

    `key` is filled for revoked, expired and rotated-out secrets too, so callers can log which
    key was tried; only `result == OK` grants access.
    """
    now = now or timezone.now()
    if not is_well_formed(secret):
        return KeyLookup(LookupResult.UNKNOWN)
    digest = hash_secret(secret)
    key = _key_with_creator(digest)
    via_grace = False
    if key is None or not hmac.compare_digest(key.secret_hash, digest):
        retired = only_row(
            RetiredSecret.objects.select_related("key__organization").filter(secret_hash=digest)
        )
        if retired is None or not hmac.compare_digest(retired.secret_hash, digest):
            return KeyLookup(LookupResult.UNKNOWN)
        key = retired.key
        if key.revoked_at is None and retired.valid_until <= now:
            return KeyLookup(LookupResult.ROTATED, key)
        via_grace = True
    # Revoked wins over every other reason: it is what the key's owner needs to hear.
    status = key.status_at(now)
    if status == KeyStatus.REVOKED:
        return KeyLookup(LookupResult.REVOKED, key)
    if status == KeyStatus.EXPIRED:
        return KeyLookup(LookupResult.EXPIRED, key)
    return KeyLookup(LookupResult.OK, key, via_grace=via_grace)


_KEY = ModelColumns(VirtualKey, "k")
_ORGANIZATION = ModelColumns(Organization, "o")
_VERSION = ModelColumns(ConfigVersion, "v")
_CREATOR = ModelColumns(VirtualKey._meta.get_field("created_by").related_model, "u")
_CREATOR_MEMBERSHIP = ModelColumns(Membership, "m")


@functools.cache
def _key_sql() -> str:
    return (
        f"SELECT {_KEY.select}, {_ORGANIZATION.select}, {_VERSION.select}, {_CREATOR.select}, "  # noqa: S608 - our own names
        f"{_CREATOR_MEMBERSHIP.select} FROM {_KEY.table} "
        f"JOIN {_ORGANIZATION.table} "
        f"ON {_ORGANIZATION.column('id')} = {_KEY.column('organization')} "
        f"LEFT JOIN {_VERSION.table} "
        f"ON {_VERSION.column('id')} = {_ORGANIZATION.column('config_version')} "
        f"LEFT JOIN {_CREATOR.table} ON {_CREATOR.column('id')} = {_KEY.column('created_by')} "
        f"LEFT JOIN {_CREATOR_MEMBERSHIP.table} "
        f"ON {_CREATOR_MEMBERSHIP.column('user')} = {_KEY.column('created_by')} "
        f"AND {_CREATOR_MEMBERSHIP.column('organization')} = {_KEY.column('organization')} "
        f"WHERE {_KEY.column('secret_hash')} = %s"
    )


def _key_with_creator(digest: str) -> VirtualKey | None:
    """The key of a secret's hash with what the admin API needs next: the org with its config
    version in force, the creator, and the creator's membership in the org (None once they
    left). Written out: it runs on every admin API call by key, see `ModelColumns`."""
    row = prepared_row(_key_sql(), [digest])
    if row is None:
        return None
    columns = [_KEY, _ORGANIZATION, _VERSION, _CREATOR, _CREATOR_MEMBERSHIP]
    starts = [sum(len(before) for before in columns[:index]) for index in range(len(columns))]
    key, organization, version, creator, membership = (
        model.instance(row, start) for model, start in zip(columns, starts, strict=True)
    )
    organization.config_version = version
    key.organization = organization
    key.created_by = creator
    if membership is not None:
        membership.user = creator
        membership.organization = organization
    key.creator_membership = membership
    return key


def key_creator_membership(key: VirtualKey) -> Membership | None:
    """The key's creator's membership in the key's org now (None once they left, or their
    account is gone), with the creator and the org: from what `lookup` loaded along with the key,
    or one query for a key found another way."""
    if key.created_by_id is None:
        return None
    if hasattr(key, "creator_membership"):
        return key.creator_membership
    return only_row(
        Membership.objects.select_related("user", "organization__config_version").filter(
            user_id=key.created_by_id, organization_id=key.organization_id
        )
    )
