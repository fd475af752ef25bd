"""What the gateways read, across every organization: configs with provider secrets, key
changes since a cursor, spend. The /v1/gateway/ API and the open-source gateway's adapter share
these, so both answer from the same rows."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import batched

from django.core import signing
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from keys.models import KeyStatus, RetiredSecret, VirtualKey
from orgs.config_schema import OrgConfig, StoredSecret, read_stored
from orgs.models import Organization, ProviderSecret
from orgs.selectors import provider_api_keys
from prism_site.errors import Invalid

# -- Configs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizationConfig:
    organization: Organization
    version: int
    updated_at: datetime | None
    config: OrgConfig
    provider_keys: dict[str, str]  # decrypted, by provider name

    def document(self) -> dict:
        """The config as JSON, each provider's `api_key` in plaintext (None without one)."""
        document = self.config.model_dump(
            mode="json", exclude={"providers": {"__all__": {"api_key"}}}
        )
        for provider, shown in zip(self.config.providers, document["providers"], strict=True):
            shown["api_key"] = self.provider_keys.get(provider.name)
        return document


def configs_etag() -> str:
    """Changes whenever any org's config version, slug or name changes, or an org comes or goes;
    one query over the org table's narrow columns, so a poll that changes nothing stays cheap."""
    digest = hashlib.sha256()
    rows = Organization.objects.order_by("pk").values_list(
        "pk", "config_version_id", "slug", "name"
    )
    for pk, version_id, slug, name in rows.iterator(chunk_size=5000):
        digest.update(f"{pk}:{version_id or 0}:{slug}:{name}\n".encode())
    return f'"{digest.hexdigest()[:32]}"'


def organization_configs() -> list[OrganizationConfig]:
    """Every org's config in force, provider secrets decrypted: two queries whatever the number
    of orgs (the orgs with their versions, then every provider secret they reference)."""
    organizations = list(Organization.objects.select_related("config_version").order_by("pk"))
    parsed = []
    secret_ids = set()
    for organization in organizations:
        version = organization.config_version
        config = read_stored(version.document)[0] if version else read_stored({})[0]
        parsed.append((organization, version, config))
        secret_ids.update(
            provider.api_key.secret_id
            for provider in config.providers
            if isinstance(provider.api_key, StoredSecret)
        )
    stored = ProviderSecret.objects.in_bulk(secret_ids) if secret_ids else {}
    return [
        OrganizationConfig(
            organization=organization,
            version=version.number if version else 0,
            updated_at=version.created_at if version else None,
            config=config,
            provider_keys=provider_api_keys(organization, config, stored=stored),
        )
        for organization, version, config in parsed
    ]


def budgeted_gateway_keys() -> dict[int, list[VirtualKey]]:
    """Active keys with a budget of their own, by org id (one query): the open-source gateway
    reads key budgets from its org config."""
    by_organization: dict[int, list[VirtualKey]] = {}
    for key in VirtualKey.objects.active().filter(budget_limit__isnull=False).order_by("pk"):
        by_organization.setdefault(key.organization_id, []).append(key)
    return by_organization


# -- Keys ------------------------------------------------------------------------------------

KEY_SYNC_SALT = "gateway.keys.since"
KEY_SYNC_CHUNK = 2000
# Rows written in the last moments may still sit in transactions that have not committed with an
# earlier `updated_at` than rows already visible; the cursor never moves past now minus this, so
# the next poll sends those rows again (a gateway applies a key twice harmlessly) instead of
# missing one for good.
KEY_SYNC_SETTLE = timedelta(seconds=30)


@dataclass(frozen=True)
class OrganizationId:
    pk: int


@dataclass(frozen=True)
class ActiveKey:
    """The columns of a key the open-source gateway's sync reads, without a model instance
    (building 100,000 of those costs more than the rest of the sync)."""

    pk: int
    public_id: str
    name: str
    secret_hash: str
    organization_id: int
    scopes: list
    metadata: dict
    allowed_models: list
    expires_at: datetime | None
    revoked_at: datetime | None
    retired_still_valid: tuple = ()

    @property
    def organization(self) -> OrganizationId:
        return OrganizationId(self.organization_id)

    def status_at(self, now: datetime) -> KeyStatus:
        # The same rule as VirtualKey.status_at.
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return KeyStatus.EXPIRED
        return KeyStatus.ACTIVE


ACTIVE_KEY_COLUMNS = (
    "pk",
    "public_id",
    "name",
    "secret_hash",
    "organization_id",
    "scopes",
    "metadata",
    "allowed_models",
    "expires_at",
    "revoked_at",
)


def active_keys(*, now: datetime) -> Iterator[ActiveKey]:
    """Every key usable now with, as `retired_still_valid`, its retired secrets still in grace:
    for a gateway that replaces its whole key list on each sync. Read through a server-side
    cursor, KEY_SYNC_CHUNK keys at a time by id, so a chunk's retired secrets are found by its
    id range (the secrets' key index), not by a list of ids."""
    rows = (
        VirtualKey.objects.active(now)
        .order_by("pk")
        .values_list(*ACTIVE_KEY_COLUMNS)
        .iterator(chunk_size=KEY_SYNC_CHUNK)
    )
    for chunk in batched(rows, KEY_SYNC_CHUNK):
        retired: dict[int, list[RetiredSecret]] = {}
        for secret in RetiredSecret.objects.filter(
            valid_until__gt=now, key_id__gte=chunk[0][0], key_id__lte=chunk[-1][0]
        ).order_by("valid_until", "pk"):
            retired.setdefault(secret.key_id, []).append(secret)
        for row in chunk:
            yield ActiveKey(*row, retired_still_valid=tuple(retired.get(row[0], ())))


def key_names(public_ids) -> dict[str, str]:
    """Key name by public id (one query), for a gateway whose budgets know keys by name."""
    if not public_ids:
        return {}
    return dict(
        VirtualKey.objects.filter(public_id__in=public_ids).values_list("public_id", "name")
    )


@dataclass(frozen=True)
class SyncPosition:
    updated_at: datetime
    key_pk: int


def cursor_for(position: SyncPosition) -> str:
    return signing.dumps([position.updated_at.isoformat(), position.key_pk], salt=KEY_SYNC_SALT)


def position_from(cursor: str) -> SyncPosition:
    """A cursor this API handed out, or Invalid naming `since`: a forged or damaged one fails
    its signature instead of syncing from a position nobody chose."""
    try:
        stamp, key_pk = signing.loads(cursor, salt=KEY_SYNC_SALT)
        updated_at = parse_datetime(stamp)
        if updated_at is None or not isinstance(key_pk, int):
            raise ValueError
    except (signing.BadSignature, ValueError, TypeError):
        raise Invalid(
            errors={
                "since": [
                    "not a cursor this API gave out; send the `next_cursor` of your last sync "
                    "unchanged, or leave `since` out to sync every key again"
                ]
            },
            code="invalid_cursor",
        ) from None
    return SyncPosition(updated_at=updated_at, key_pk=key_pk)


# A key's sync document is written as JSON text from plain column values: the JSON columns come
# as the database's text (Cast) and are spliced in as they are, so a full sync of 100,000 keys
# builds no model objects and decodes no JSON only to encode it again.
KEY_COLUMNS = {
    "pk": F("pk"),
    "updated_at": F("updated_at"),
    "public_id": F("public_id"),
    "name": F("name"),
    "secret_hash": F("secret_hash"),
    "organization_id": F("organization_id"),
    "slug": F("organization__slug"),
    "scopes": Cast("scopes", TextField()),
    "expires_at": F("expires_at"),
    "revoked_at": F("revoked_at"),
    "allowed_models": Cast("allowed_models", TextField()),
    "allowed_ips": Cast("allowed_ips", TextField()),
    "rate_limit_rpm": F("rate_limit_rpm"),
    "rate_limit_tpm": F("rate_limit_tpm"),
    "budget_limit": F("budget_limit"),
    "budget_period": F("budget_period"),
}
_text = json.JSONEncoder().encode


def _iso(moment: datetime | None) -> str:
    return "null" if moment is None else f'"{moment.isoformat()}"'


def _number(value: int | None) -> str:
    return "null" if value is None else str(int(value))


@dataclass
class KeySync:
    """Keys changed after `since` (all of them without one), oldest change first, each as its
    JSON document; iterate `documents()` once, then `next_cursor` is where the next sync starts."""

    since: SyncPosition | None
    now: datetime
    next_position: SyncPosition | None = None

    def documents(self) -> Iterator[str]:
        """One query read through a server-side cursor KEY_SYNC_CHUNK rows at a time (plus one
        query per chunk for its retired secrets), so memory holds one chunk whatever the number
        of keys."""
        keys = VirtualKey.objects.order_by("updated_at", "pk")
        if self.since is not None:
            keys = keys.filter(
                Q(updated_at__gt=self.since.updated_at)
                | Q(updated_at=self.since.updated_at, pk__gt=self.since.key_pk)
            )
        rows = keys.values_list(*KEY_COLUMNS.values()).iterator(chunk_size=KEY_SYNC_CHUNK)
        for chunk in batched(rows, KEY_SYNC_CHUNK):
            retired: dict[int, list[str]] = {}
            for key_pk, secret_hash, valid_until in (
                # By the chunk's range of change times (three parameters, the sync's index),
                # not by a list of 2,000 ids, which costs more to build than to run.
                RetiredSecret.objects.filter(
                    valid_until__gt=self.now,
                    key__updated_at__gte=chunk[0][1],
                    key__updated_at__lte=chunk[-1][1],
                )
                .order_by("valid_until", "pk")
                .values_list("key_id", "secret_hash", "valid_until")
            ):
                retired.setdefault(key_pk, []).append(
                    f'{{"secret_hash":{_text(secret_hash)},"valid_until":{_iso(valid_until)}}}'
                )
            for row in chunk:
                yield self._document(row, retired.get(row[0], ()))
        # Every committed change up to `settled` has now been sent; later ones were sent too and
        # come again next time (see KEY_SYNC_SETTLE).
        settled = SyncPosition(self.now - KEY_SYNC_SETTLE, 0)
        self.next_position = (
            self.since
            if self.since is not None
            and (self.since.updated_at, self.since.key_pk) > (settled.updated_at, 0)
            else settled
        )

    def _document(self, row: tuple, retired_secrets) -> str:
        """What a gateway needs to authenticate and restrict one key: hashes, never a secret;
        `retired_secrets` are the ones a rotation replaced that still work until `valid_until`
        (the grace period)."""
        (
            _pk,
            updated_at,
            public_id,
            name,
            secret_hash,
            organization_id,
            slug,
            scopes,
            expires_at,
            revoked_at,
            allowed_models,
            allowed_ips,
            rate_limit_rpm,
            rate_limit_tpm,
            budget_limit,
            budget_period,
        ) = row
        if revoked_at is not None:
            status = KeyStatus.REVOKED.value
        elif expires_at is not None and expires_at <= self.now:
            status = KeyStatus.EXPIRED.value
        else:
            status = KeyStatus.ACTIVE.value
        budget = (
            "null"
            if budget_limit is None
            else f'{{"limit":"{budget_limit}","period":{_text(budget_period)}}}'
        )
        return (
            f'{{"id":{_text(public_id)},"name":{_text(name)},"secret_hash":{_text(secret_hash)},'
            f'"organization":{{"id":{int(organization_id)},"slug":{_text(slug)}}},'
            f'"status":"{status}","scopes":{scopes},"expires_at":{_iso(expires_at)},'
            f'"revoked_at":{_iso(revoked_at)},"updated_at":{_iso(updated_at)},'
            f'"restrictions":{{"allowed_models":{allowed_models},"allowed_ips":{allowed_ips},'
            f'"rate_limit_rpm":{_number(rate_limit_rpm)},'
            f'"rate_limit_tpm":{_number(rate_limit_tpm)},"budget":{budget}}},'
            f'"retired_secrets":[{",".join(retired_secrets)}]}}'
        )

    @property
    def next_cursor(self) -> str:
        if self.next_position is None:
            raise RuntimeError(
                "iterate documents() to the end before asking where the next sync starts"
            )
        return cursor_for(self.next_position)


def key_sync(*, since: str | None, now: datetime | None = None) -> KeySync:
    return KeySync(since=position_from(since) if since else None, now=now or timezone.now())
