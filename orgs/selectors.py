"""Reads shared by org pages and the API: the org row lock, audit log pages, the org config and
its history."""

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import F, Subquery

from orgs.audit_format import Line, config_lines
from orgs.config_diff import Change, document_changes
from orgs.config_schema import ConfigError, OrgConfig, StoredSecret, read_stored
from orgs.models import AuditEvent, ConfigVersion, Membership, Organization, ProviderSecret
from orgs.secrets import decrypt
from prism_site.paging import Keyset, Page

AUDIT_PAGE_SIZE = 50


def organization_lock(organization: Organization) -> Organization:
    """Lock the org row until the transaction ends, so writes to one org run one at a time."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def member_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization).count()


# Newest first, through the (organization, -created_at, -id) index.
AUDIT_ORDER = Keyset("audit", ("-created_at", "-id"))
# A user's orgs by name (names repeat across orgs; the org id breaks ties).
ORGANIZATIONS_ORDER = Keyset("organizations", ("organization_name", "organization_id"))
ORGANIZATIONS_PAGE_SIZE = 50


def user_organizations_page(user, *, search: str = "", cursor: str | None = None) -> Page:
    """Every org the user belongs to (their memberships, each with its org), by name."""
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .annotate(organization_name=F("organization__name"))
    )
    if search:
        memberships = memberships.filter(organization__name__icontains=search)
    return ORGANIZATIONS_ORDER.page(memberships, cursor, size=ORGANIZATIONS_PAGE_SIZE)


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log is narrowed to; every part optional. `since` is inclusive, `until`
    exclusive. An actor is one of an email, an API key's id or a personal access token's id."""

    actor_email: str = ""
    api_key_id: str = ""
    token_id: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_events(organization: Organization, audit_filter: AuditFilter | None = None):
    """The org's events matching the filter, unordered. Each filter but the token's has an
    index led by (organization, that column) and followed by the log's order (migration 0009)."""
    events = AuditEvent.objects.filter(organization=organization)
    if audit_filter is None:
        return events
    if audit_filter.actor_email:
        events = events.filter(actor_email=audit_filter.actor_email)
    if audit_filter.api_key_id:
        events = events.filter(api_key_id=audit_filter.api_key_id)
    if audit_filter.token_id:
        # Tokens are rare actors (org-wide automation uses keys): no index of their own.
        events = events.filter(details__token_id=audit_filter.token_id)
    if audit_filter.action:
        events = events.filter(action=audit_filter.action)
    if audit_filter.since is not None:
        events = events.filter(created_at__gte=audit_filter.since)
    if audit_filter.until is not None:
        events = events.filter(created_at__lt=audit_filter.until)
    return events


def audit_page(
    organization: Organization,
    *,
    cursor: str | None,
    size: int = AUDIT_PAGE_SIZE,
    audit_filter: AuditFilter | None = None,
) -> Page:
    """Newest first, by keyset: a page's cost does not grow with the log, and events written
    while someone pages only ever join the top, never shift the pages after it."""
    return AUDIT_ORDER.page(audit_events(organization, audit_filter), cursor, size=size)


CONFIG_ACTIONS = ("config.update", "config.restore")


def audit_config_changes(organization: Organization, events) -> dict[int, list[Change]]:
    """Each config event's changes (before → after per path) by event id, read from the
    versions it made and the ones before them in one query: the event records paths only."""
    numbers = {}
    for event in events:
        version = event.details.get("version") if isinstance(event.details, dict) else None
        if event.action in CONFIG_ACTIONS and isinstance(version, int) and version > 0:
            numbers[event.pk] = version
    if not numbers:
        return {}
    wanted = {*numbers.values(), *(number - 1 for number in numbers.values())}
    documents = dict(
        ConfigVersion.objects.filter(organization=organization, number__in=wanted).values_list(
            "number", "document"
        )
    )
    return {
        event_id: document_changes(documents.get(number - 1), documents[number])
        for event_id, number in numbers.items()
        if number in documents
    }


# -- Org config ------------------------------------------------------------------------------

HISTORY_PAGE_SIZE = 20


@dataclass(frozen=True)
class CurrentConfig:
    """The config in force: its version (None and number 0 before the first save), document,
    and the stored values that no longer pass the schema (left out of `config`)."""

    version: ConfigVersion | None
    config: OrgConfig
    problems: tuple[ConfigError, ...] = ()

    @property
    def number(self) -> int:
        return self.version.number if self.version else 0


@dataclass(frozen=True)
class HistoryEntry:
    version: ConfigVersion
    changes: list[Change]

    @property
    def lines(self) -> list[Line]:
        """The changes typed for reading (`budgets.limit: $100.00 USD → $500.00 USD`)."""
        return config_lines(self.changes)


def parse_stored(document: dict) -> OrgConfig:
    """A stored document back into the schema (trusted: it holds secret references). Never
    fails: values that no longer pass are left out (see `read_stored`)."""
    return read_stored(document)[0]


def config_current(organization: Organization) -> CurrentConfig:
    """One query through the org's pointer in the database (a cached instance may be stale)."""
    version = (
        ConfigVersion.objects.filter(
            pk=Subquery(
                Organization.objects.filter(pk=organization.pk).values("config_version")[:1]
            )
        )
        .select_related("author")
        .first()
    )
    return config_of_version(version)


def config_of_version(version: ConfigVersion | None) -> CurrentConfig:
    """The config a version already loaded holds (the defaults for None: never saved); for a
    caller that read the org's `config_version` in the query that reached the org."""
    if version is None:
        return CurrentConfig(version=None, config=OrgConfig())
    config, problems = read_stored(version.document)
    return CurrentConfig(version=version, config=config, problems=tuple(problems))


def organization_config(organization: Organization) -> OrgConfig:
    """The org's current config document; the defaults when it has never been saved.

    Provider secrets in it are `StoredSecret` references (id + mask), never plaintext.
    """
    return config_current(organization).config


def config_version_get(organization: Organization, number: int) -> ConfigVersion | None:
    return (
        ConfigVersion.objects.filter(organization=organization, number=number)
        .select_related("author")
        .first()
    )


def config_versions_between(
    organization: Organization, *, after: int, through: int
) -> list[ConfigVersion]:
    return list(
        ConfigVersion.objects.filter(
            organization=organization, number__gt=after, number__lte=through
        )
        .select_related("author")
        .order_by("number")
    )


# Newest first; the number is unique within the org (the index of its unique constraint).
CONFIG_VERSIONS_ORDER = Keyset("config_versions", ("-number",))


def config_versions_page(
    organization: Organization, *, cursor: str | None, size: int = HISTORY_PAGE_SIZE
) -> Page:
    """The org's versions newest first, by keyset (the admin API's version list)."""
    versions = ConfigVersion.objects.filter(organization=organization).select_related("author")
    return CONFIG_VERSIONS_ORDER.page(versions, cursor, size=size)


def config_history(
    organization: Organization, *, cursor: str | None = None, size: int = HISTORY_PAGE_SIZE
) -> Page:
    """Newest first by keyset (the same order as the API's version list), each row a
    `HistoryEntry` with its changes against the version before it; two queries a page."""
    page = config_versions_page(organization, cursor=cursor, size=size)
    wanted = {version.number - 1 for version in page.rows} - {
        version.number for version in page.rows
    }
    previous = {version.number: version.document for version in page.rows}
    if wanted - {0}:
        previous.update(
            ConfigVersion.objects.filter(
                organization=organization, number__in=wanted - {0}
            ).values_list("number", "document")
        )
    entries = [
        HistoryEntry(
            version=version,
            changes=document_changes(previous.get(version.number - 1), version.document)
            if version.number > 1
            else [],
        )
        for version in page.rows
    ]
    return replace(page, rows=entries)


def provider_api_keys(
    organization: Organization,
    config: OrgConfig,
    *,
    stored: dict[int, ProviderSecret] | None = None,
) -> dict[str, str]:
    """Decrypted provider keys by provider name, for the gateway API's config sync only (the one
    place secrets are decrypted for output); pages never render these.

    `stored` (rows by id, fetched for many orgs in one query) spares the query per org; a row of
    another org in it is ignored, as the query would.
    """
    ids = {
        provider.name: provider.api_key.secret_id
        for provider in config.providers
        if isinstance(provider.api_key, StoredSecret)
    }
    if stored is None:
        secrets = ProviderSecret.objects.filter(
            organization=organization, id__in=ids.values()
        ).in_bulk()
    else:
        secrets = {
            secret_id: stored[secret_id]
            for secret_id in ids.values()
            if secret_id in stored and stored[secret_id].organization_id == organization.pk
        }
    return {
        name: decrypt(
            secrets[secret_id].ciphertext,
            key_id=secrets[secret_id].key_id,
            organization_id=organization.pk,
        )
        for name, secret_id in ids.items()
        if secret_id in secrets
    }
