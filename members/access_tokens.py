"""Personal access token secrets: making them, and finding the token a presented secret belongs to.

A secret is `prism_pat_` + 40 random base62 characters: the prefix tells it apart from a key's
`sk-prism-…` (and lets secret scanners spot it); 238 random bits need no salt or stretching, so
only the SHA-256 is stored and lookup is one indexed equality.
"""

import enum
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from keys.secrets import BASE62
from members.models import PersonalAccessToken, User
from prism_site.queries import ModelColumns, prepared_row

TOKEN_PREFIX = "prism_pat_"  # noqa: S105 - the public format marker, not a secret
PUBLIC_ID_PREFIX = "pat_"
RANDOM_LENGTH = 40
TOKEN_LENGTH = len(TOKEN_PREFIX) + RANDOM_LENGTH
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 4
# Tokens whose last use is older than this get `last_used_at` moved (at most one write a minute).
LAST_USED_RESOLUTION_SECONDS = 60


def _random(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def generate_token() -> str:
    return f"{TOKEN_PREFIX}{_random(RANDOM_LENGTH)}"


def generate_public_id() -> str:
    return f"{PUBLIC_ID_PREFIX}{_random(20)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_parts(token: str) -> tuple[str, str]:
    return token[:DISPLAY_PREFIX_LENGTH], token[-4:]


def is_well_formed(token: str) -> bool:
    return (
        isinstance(token, str)
        and len(token) == TOKEN_LENGTH
        and token.startswith(TOKEN_PREFIX)
        and all(character in BASE62 for character in token[len(TOKEN_PREFIX) :])
    )


class TokenLookup(enum.StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    INACTIVE_USER = "inactive_user"


TOKEN_MESSAGES = {
    TokenLookup.UNKNOWN: "This personal access token is not valid.",
    TokenLookup.REVOKED: "This personal access token has been revoked; create a new one.",
    TokenLookup.EXPIRED: "This personal access token has expired; create a new one.",
    TokenLookup.INACTIVE_USER: "The account of this personal access token is deactivated.",
}


@dataclass(frozen=True)
class FoundToken:
    result: TokenLookup
    token: PersonalAccessToken | None = None

    @property
    def usable(self) -> bool:
        return self.result == TokenLookup.OK

    @property
    def message(self) -> str:
        return TOKEN_MESSAGES.get(self.result, "")


def token_lookup(presented: str, *, now: datetime | None = None) -> FoundToken:
    """The token (with its user) a presented secret belongs to, and whether it works now."""
    now = now or timezone.now()
    if not is_well_formed(presented):
        return FoundToken(TokenLookup.UNKNOWN)
    digest = hash_token(presented)
    token = _token_with_user(digest)
    if token is None or not hmac.compare_digest(token.secret_hash, digest):
        return FoundToken(TokenLookup.UNKNOWN)
    status = token.status_at(now)
    if status == "revoked":
        return FoundToken(TokenLookup.REVOKED, token)
    if status == "expired":
        return FoundToken(TokenLookup.EXPIRED, token)
    if not token.user.is_active:
        return FoundToken(TokenLookup.INACTIVE_USER, token)
    return FoundToken(TokenLookup.OK, token)


_TOKEN = ModelColumns(PersonalAccessToken, "t")
_USER = ModelColumns(User, "u")


@functools.cache
def _token_sql() -> str:
    return (
        f"SELECT {_TOKEN.select}, {_USER.select} FROM {_TOKEN.table} "  # noqa: S608 - our own names
        f"JOIN {_USER.table} ON {_USER.column('id')} = {_TOKEN.column('user')} "
        f"WHERE {_TOKEN.column('secret_hash')} = %s"
    )


def _token_with_user(digest: str) -> PersonalAccessToken | None:
    """The token of a secret's hash, with its user (written out: it runs on every admin API call
    by token, see `ModelColumns`)."""
    row = prepared_row(_token_sql(), [digest])
    if row is None:
        return None
    token = _TOKEN.instance(row, 0)
    token.user = _USER.instance(row, len(_TOKEN))
    return token


def token_mark_used(token: PersonalAccessToken, *, now: datetime | None = None) -> None:
    """Move `last_used_at`, at most once a minute (one narrow UPDATE, no write on most calls)."""
    now = now or timezone.now()
    last = token.last_used_at
    if last is None or (now - last).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
