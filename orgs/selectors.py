"""Reads shared by org pages and the API: the org row lock, audit log pages, the org config and
its history."""

from dataclasses import dataclass

from django.db.models import F, Subquery

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


def audit_page(
    organization: Organization, *, cursor: str | None, size: int = AUDIT_PAGE_SIZE
) -> Page:
    """Newest first, by keyset: a page's cost does not grow with the log."""
    return AUDIT_ORDER.page(AuditEvent.objects.filter(organization=organization), cursor, size=size)


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
    organization: Organization, *, before: int | None = None, size: int = HISTORY_PAGE_SIZE
) -> tuple[list[HistoryEntry], int | None]:
    """Newest first, each with its changes against the version before it; one query a page."""
    versions = ConfigVersion.objects.filter(organization=organization).select_related("author")
    if before is not None:
        versions = versions.filter(number__lt=before)
    # One extra row gives the previous document of the page's last entry.
    rows = list(versions.order_by("-number")[: size + 1])
    entries = []
    for index, version in enumerate(rows[:size]):
        previous = rows[index + 1] if index + 1 < len(rows) else None
        if previous is not None and previous.number != version.number - 1:
            previous = None
        entries.append(
            HistoryEntry(
                version=version,
                changes=document_changes(previous.document if previous else None, version.document)
                if previous or version.number > 1
                else [],
            )
        )
    next_before = rows[size - 1].number if len(rows) > size else None
    return entries, next_before


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
