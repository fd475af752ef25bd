"""Every write to an organization: create, rename, billing, delete, adding a member, and its
config versions."""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_variables
from pydantic import BaseModel, SecretStr

from orgs import audit, provider_hosts, secrets, selectors
from orgs.config_diff import document_changes
from orgs.config_schema import (
    SECTIONS,
    ConfigError,
    ConfigInvalid,
    OrgConfig,
    Provider,
    StoredSecret,
    format_path,
    masked_document,
    stored_document,
    validate_document,
)
from orgs.errors import ConfigConflict
from orgs.models import (
    ConfigVersion,
    Membership,
    Organization,
    ProviderSecret,
    membership_sort_key,
)
from orgs.permissions import membership_permissions_sync, role_groups_create, role_groups_delete
from orgs.roles import Role
from orgs.selectors import CurrentConfig
from prism_site.actor import Actor

RESERVED_SLUGS = {"new", "admin", "api", "settings", "static"}
SLUG_ATTEMPTS = 5


def unique_slug(name: str, *, taken: frozenset[str] = frozenset()) -> str:
    """The org's slug from its name, with the first free suffix (-2, -3…); `taken` are slugs
    already known to be in use that the database may not show yet."""
    base = slugify(name)[:50] or "org"
    if base in RESERVED_SLUGS:
        base = f"{base}-org"
    slug, suffix = base, 2
    while slug in taken or Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{suffix}"
        suffix += 1
    return slug


@transaction.atomic
def membership_add(*, organization: Organization, user, role: str) -> Membership:
    """Add a member (org creation, accepted invitation); the caller writes the audit entry."""
    membership = Membership.objects.create(
        user=user,
        organization=organization,
        role=Role(role),
        sort_key=membership_sort_key(role, user.email),
    )
    membership_permissions_sync(user=user, organization=organization, role=role)
    return membership


@transaction.atomic
def organization_create(*, name: str, actor: Actor) -> Organization:
    taken: set[str] = set()
    for attempt in range(1, SLUG_ATTEMPTS + 1):
        slug = unique_slug(name, taken=frozenset(taken))
        try:
            # Two orgs of the same name created at once both find the slug free; the one that
            # inserts second moves on to the next suffix instead of failing.
            with transaction.atomic():
                organization = Organization.objects.create(name=name.strip(), slug=slug)
            break
        except IntegrityError:
            if attempt == SLUG_ATTEMPTS:
                raise
            taken.add(slug)
    role_groups_create(organization)
    membership_add(organization=organization, user=actor.user, role=Role.OWNER)
    # Every org starts at version 1 (the defaults), so history and edits have a base.
    organization.config_version = ConfigVersion.objects.create(
        organization=organization,
        number=1,
        document=stored_document(OrgConfig()),
        author=actor.user,
        author_email=actor.email,
        message="Initial configuration (defaults)",
        section="initial",
    )
    organization.save(update_fields=["config_version"])
    audit.record(
        organization=organization,
        actor=actor,
        action="organization.create",
        target=organization.name,
    )
    return organization


@transaction.atomic
def organization_rename(*, organization: Organization, name: str, actor: Actor) -> Organization:
    old_name = organization.name
    organization.name = name.strip()
    organization.save(update_fields=["name"])
    audit.record(
        organization=organization,
        actor=actor,
        action="organization.rename",
        target=organization.name,
        details={"from": old_name, "to": organization.name},
    )
    return organization


@transaction.atomic
def organization_delete(*, organization: Organization, actor: Actor) -> None:
    """Remove the org and everything of it (memberships, config, keys, logs, audit)."""
    role_groups_delete(organization)
    organization.delete()


@transaction.atomic
def organization_billing_update(
    *, organization: Organization, billing_email: str, actor: Actor
) -> Organization:
    old_email = organization.billing_email
    organization.billing_email = billing_email
    organization.save(update_fields=["billing_email"])
    audit.record(
        organization=organization,
        actor=actor,
        action="organization.billing_update",
        target=billing_email or "(none)",
        details={"from": old_email, "to": billing_email},
    )
    return organization


# -- Org config: every change makes a new immutable version ---------------------------------


def _conflict(
    organization: Organization,
    base_version: int,
    current: CurrentConfig,
    rebased: "Rebase | None" = None,
):
    versions = selectors.config_versions_between(
        organization, after=base_version, through=current.number
    )
    base = selectors.config_version_get(organization, base_version) if base_version else None
    changes = (
        document_changes(base.document if base else None, current.version.document)
        if current.version and versions
        else []
    )
    fields = []
    if rebased is not None and base is not None:
        # Name the version (and its author) that last set each value both sides changed.
        for conflict in rebased.conflicts:
            value, last = _get(rebased.locate(base.document), conflict.path), None
            for version in versions:
                now = _get(rebased.locate(version.document), conflict.path)
                if not _same(now, value):
                    value, last = now, version
            last = last or (versions[-1] if versions else None)
            fields.append(
                replace(
                    conflict,
                    version=last.number if last else None,
                    author=(last.author_email or "someone") if last else "",
                )
            )
    return ConfigConflict(
        base_version=base_version,
        current_version=current.number,
        versions=versions,
        changes=changes,
        fields=fields,
        taken=[rebased.location(path) for path in rebased.taken] if rebased else [],
        reason=rebased.reason if rebased else "",
    )


# -- Merging a form edit that started from an older version ----------------------------------
# A form carries the version it was opened on (its base). When someone saved meanwhile, the
# edit is merged per field: base vs current vs submitted. A field only the others changed takes
# the current value; a field only the editor changed (or both, to the same value) keeps the
# editor's; a field both changed to different values is a conflict, and nothing is saved until
# the editor has seen both values. The fields are the schema's leaves (nested sections such as
# routing.retry are followed; lists and maps are one value each).

_MISSING = object()


@dataclass(frozen=True)
class FieldConflict:
    """A field the editor and someone else both changed since the editor's base version."""

    path: tuple[str, ...]  # within the edited entry, e.g. ("retry", "max_retries")
    location: str  # the config path people read, e.g. routing.retry.max_retries
    theirs: Any  # the current value, as the schema stores it (keys masked)
    yours: Any  # the submitted value (never a typed key)
    version: int | None = None  # the version that last set `theirs`
    author: str = ""


@dataclass
class Rebase:
    """A stale edit moved onto the current version."""

    # Builds the merged document as `_config_commit` does; None: the edit no longer applies.
    build: Callable[[OrgConfig, dict], Any] | None
    locate: Callable[[dict], Any]  # the edited entry in a stored document
    prefix: str  # the entry's config path (caching, providers.openai)
    taken: list[tuple] = field(default_factory=list)
    conflicts: list[FieldConflict] = field(default_factory=list)
    reason: str = ""

    def location(self, path: tuple) -> str:
        return ".".join((self.prefix, *path))


@dataclass(frozen=True)
class Merged:
    """On a version saved from a merged edit: the base it started from, the versions saved
    in between, and the config paths that kept their values."""

    base_version: int
    versions: list
    taken: list[str]

    @property
    def authors(self) -> list[str]:
        return sorted({version.author_email or "someone" for version in self.versions})


def _leaf_paths(model: Any, prefix: tuple = ()) -> list[tuple]:
    """The fields of a schema model, nested sections followed; any other type is one leaf."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return [prefix]
    paths = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += _leaf_paths(annotation, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def _get(entry: Any, path: tuple) -> Any:
    for key in path:
        if not isinstance(entry, dict) or key not in entry:
            return _MISSING
        entry = entry[key]
    return entry


def _field_conflicts(prefix: str, paths, *, theirs, yours) -> list[FieldConflict]:
    """The fields both sides changed, each with its value on both sides."""
    return [
        FieldConflict(
            path=path,
            location=".".join((prefix, *path)),
            theirs=_get(theirs, path),
            yours=_get(yours, path),
        )
        for path in paths
    ]


def _set(entry: Any, path: tuple, value: Any) -> Any:
    if not path:
        return copy.deepcopy(value)
    result = dict(entry) if isinstance(entry, dict) else {}
    result[path[0]] = _set(result.get(path[0]), path[1:], value)
    return result


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (so True is not 1, and key order does not matter)."""
    if a is _MISSING or b is _MISSING:
        return a is b
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def three_way_merge(
    base: Any, theirs: Any, yours: Any, paths: list[tuple], *, into: Any = _MISSING
) -> tuple[Any, list[tuple], list[tuple]]:
    """Merge per path: (merged, paths that took theirs, paths both changed differently).

    `yours` is compared as the schema reads it; `into` (default `yours`) is what the merged
    values are written into, so the editor's own text reaches validation unchanged."""
    merged = copy.deepcopy(yours if into is _MISSING else into)
    taken, both = [], []
    for path in paths:
        b, t, y = _get(base, path), _get(theirs, path), _get(yours, path)
        if _same(t, b) or _same(t, y):
            continue
        if _same(y, b):
            merged = _set(merged, path, t) if t is not _MISSING else merged
            taken.append(path)
        else:
            both.append(path)
    return merged, taken, both


def _as_schema_reads(section: str, values: Any, base_entry: Any) -> Any:
    """`values` as the schema stores them ("5000" and 5000 are one value); keys that do not
    validate stay as given (they are the editor's change, refused later with their path)."""
    try:
        return masked_document(validate_document({section: values}))[section]
    except ConfigInvalid:
        pass
    if not isinstance(values, dict) or not isinstance(base_entry, dict):
        return values
    read = dict(values)
    for key, value in values.items():
        try:
            checked = validate_document({section: {**base_entry, key: value}})
        except ConfigInvalid:
            continue
        read[key] = masked_document(checked)[section].get(key, value)
    return read


def _section_rebase(section: str, values: Any):
    def rebase(base: OrgConfig, current: OrgConfig) -> Rebase:
        base_entry = masked_document(base)[section]
        current_entry = masked_document(current)[section]
        yours = _as_schema_reads(section, values, base_entry)
        merged, taken, both = three_way_merge(
            base_entry,
            current_entry,
            yours,
            _leaf_paths(OrgConfig.model_fields[section].annotation),
            into=values,
        )
        return Rebase(
            build=lambda current, masked: {**masked, section: merged},
            locate=lambda document: document.get(section, _MISSING),
            prefix=section,
            taken=taken,
            conflicts=_field_conflicts(section, both, theirs=current_entry, yours=yours),
        )

    return rebase


def merge_patch(target: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7396): objects merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _carry_secrets(document: Any, current: OrgConfig) -> Any:
    """Keep each provider's stored key when the edit leaves `api_key` out or repeats its mask."""
    if not isinstance(document, dict) or not isinstance(document.get("providers"), list):
        return document
    providers = []
    for provider in document["providers"]:
        if isinstance(provider, dict) and isinstance(provider.get("name"), str):
            existing = current.provider(provider["name"])
            stored = existing.api_key if existing else None
            if isinstance(stored, StoredSecret) and (
                "api_key" not in provider or provider["api_key"] == stored.masked
            ):
                provider = {**provider, "api_key": stored}
        providers.append(provider)
    return {**document, "providers": providers}


def _host_errors(config: OrgConfig, current: OrgConfig, *, notes: list[str]) -> list[ConfigError]:
    """Hosts of new or changed base URLs the gateway must not call; `notes` gets what a person
    should know about the accepted ones (a host that did not resolve from here)."""
    errors = []
    for index, provider in enumerate(config.providers):
        before = current.provider(provider.name)
        if provider.base_url is None or (before and before.base_url == provider.base_url):
            continue
        check = provider_hosts.check_host(provider.base_url)
        if check.problem:
            loc = ("providers", index, "base_url")
            errors.append(ConfigError(loc=loc, path=format_path(loc), message=check.problem))
        elif check.note:
            notes.append(check.note)
    return errors


@sensitive_variables()
def _seal_new_secrets(config: OrgConfig, organization: Organization) -> None:
    for provider in config.providers:
        if isinstance(provider.api_key, SecretStr):
            plaintext = provider.api_key.get_secret_value()
            key_id, ciphertext = secrets.encrypt(plaintext, organization_id=organization.pk)
            row = ProviderSecret.objects.create(
                organization=organization,
                key_id=key_id,
                ciphertext=ciphertext,
                masked=secrets.mask(plaintext),
            )
            provider.api_key = StoredSecret(secret_id=row.pk, masked=row.masked)


# Everything below a config service may hold a new provider key in plaintext, so error reports
# hide every local variable of these frames (prism_site.error_reports keeps that on in DEBUG).
@sensitive_variables()
@transaction.atomic
def _config_commit(
    *,
    organization: Organization,
    actor: Actor,
    base_version: int | None,
    build: Callable[[OrgConfig, dict], Any],
    section: str,
    message: str = "",
    restored_from: int | None = None,
    rebase: Callable[[OrgConfig, OrgConfig], Rebase] | None = None,
) -> ConfigVersion | None:
    """Lock the org, refuse a stale edit, validate, seal new secrets, save the next version.

    `build(current_config, masked_current_document)` returns the whole new document. Returns
    None when the result equals the current version (nothing to save). A stale edit is refused
    unless `rebase(base_config, current_config)` merges it without conflicting fields; the
    saved version then carries `merged` (what was kept from the versions in between).
    """
    locked = selectors.organization_lock(organization)
    # Read the version only once the lock is held: a join in the locking query would be
    # re-checked by PostgreSQL against the old version row and come back empty.
    version = ConfigVersion.objects.filter(pk=locked.config_version_id).first()
    current = CurrentConfig(
        version=version,
        config=selectors.parse_stored(version.document) if version else OrgConfig(),
    )
    merged = None
    if base_version is not None and base_version != current.number:
        base = (
            selectors.config_version_get(locked, base_version)
            if rebase is not None and 1 <= base_version < current.number
            else None
        )
        rebased = rebase(selectors.parse_stored(base.document), current.config) if base else None
        if rebased is None or rebased.build is None or rebased.conflicts:
            raise _conflict(locked, base_version, current, rebased)
        build = rebased.build
        merged = Merged(
            base_version=base_version,
            versions=selectors.config_versions_between(
                locked, after=base_version, through=current.number
            ),
            taken=[rebased.location(path) for path in rebased.taken],
        )
    document = build(current.config, masked_document(current.config))
    trusted = restored_from is not None
    if not trusted:
        document = _carry_secrets(document, current.config)
    config = validate_document(document, untrusted=not trusted)
    host_notes: list[str] = []
    host_errors = _host_errors(config, current.config, notes=host_notes)
    if host_errors:
        raise ConfigInvalid(host_errors)
    _seal_new_secrets(config, locked)
    stored = stored_document(config)
    if current.version is not None and stored == current.version.document:
        return None
    try:
        with transaction.atomic():
            version = ConfigVersion.objects.create(
                organization=locked,
                number=current.number + 1,
                document=stored,
                author=actor.user if actor.user_id else None,
                author_email=actor.email,
                message=message.strip()[:200],
                section=section,
                restored_from=restored_from,
            )
    except IntegrityError:
        # Without row locks (SQLite) a concurrent save can take the number first.
        raise _conflict(locked, current.number, selectors.config_current(locked)) from None
    Organization.objects.filter(pk=locked.pk).update(config_version=version)
    organization.config_version = version
    # Shown to the person who saved (e.g. a host that did not resolve from here).
    version.host_notes = host_notes
    changes = document_changes(current.version.document if current.version else None, stored)
    audit.record(
        organization=locked,
        actor=actor,
        action="config.restore" if restored_from is not None else "config.update",
        target=f"version {version.number}",
        details={
            "section": section,
            "version": version.number,
            "base_version": current.number,
            **({"restored_from": restored_from} if restored_from is not None else {}),
            **({"merged_from": merged.base_version} if merged is not None else {}),
            # Paths only: values could be sensitive and stay in the version itself.
            "changed": [change.path for change in changes][:50],
        },
    )
    version.merged = merged
    return version


@sensitive_variables()
def config_save(
    *,
    organization: Organization,
    actor: Actor,
    base_version: int | None,
    document: Any,
    section: str = "document",
    message: str = "",
) -> ConfigVersion | None:
    """Replace the whole document (JSON editor, API PUT).

    A provider's `api_key`: left out or its mask keeps the stored key, null removes it, text
    sets a new key. `base_version` None skips the stale-edit check (API without If-Match).
    """
    return _config_commit(
        organization=organization,
        actor=actor,
        base_version=base_version,
        build=lambda current, masked: document,
        section=section,
        message=message,
    )


@sensitive_variables()
def config_patch(
    *,
    organization: Organization,
    actor: Actor,
    base_version: int | None,
    patch: Any,
    message: str = "",
) -> ConfigVersion | None:
    """Apply a JSON merge patch (RFC 7396) to the current document.

    Written for the admin API's config `PATCH` (the pages submit whole sections); kept and tested
    here so that the API adds no second way to change a config."""
    return _config_commit(
        organization=organization,
        actor=actor,
        base_version=base_version,
        build=lambda current, masked: merge_patch(masked, patch),
        section="document",
        message=message,
    )


@sensitive_variables()
def config_section_update(
    *,
    organization: Organization,
    actor: Actor,
    base_version: int | None,
    section: str,
    values: Any,
    message: str = "",
    merge: bool = False,
) -> ConfigVersion | None:
    """Replace one section (routing, caching, rate_limiting, budgets, ip_acl or providers).

    `merge` (the section forms): an edit from an older version is merged per field with what
    was saved since, instead of being refused; see `three_way_merge`."""
    if section not in SECTIONS:
        raise ValueError(f"section: must be one of {', '.join(SECTIONS)}")
    return _config_commit(
        organization=organization,
        actor=actor,
        base_version=base_version,
        build=lambda current, masked: {**masked, section: values},
        section=section,
        message=message,
        rebase=_section_rebase(section, values) if merge else None,
    )


@sensitive_variables()
def config_provider_save(
    *,
    organization: Organization,
    actor: Actor,
    base_version: int | None,
    original_name: str | None,
    values: dict,
    remove_key: bool = False,
    message: str = "",
    merge: bool = False,
) -> ConfigVersion | None:
    """Add a provider (`original_name` None) or edit one; a blank `api_key` keeps the stored key.

    `merge` (the provider form): an edit from an older version is merged per field with the
    provider as saved since; an addition goes on top of the current list."""

    def build(current: OrgConfig, masked: dict, values: dict = values) -> dict:
        providers = list(masked["providers"])
        entry = dict(values)
        if original_name is None:
            if current.provider(entry.get("name")) is not None:
                loc = ("providers", len(providers), "name")
                raise ConfigInvalid.at(
                    loc,
                    f"{entry.get('name')} is already a provider; choose another name or edit it",
                )
            providers.append(entry)
        else:
            existing = current.provider(original_name)
            if existing is None:
                raise ConfigInvalid.at(
                    ("providers",), f"{original_name} is no longer a provider; reload the section"
                )
            if not entry.get("api_key"):
                entry["api_key"] = None if remove_key else existing.api_key
            index = next(i for i, p in enumerate(providers) if p["name"] == original_name)
            providers[index] = entry
        if not entry.get("api_key") and original_name is None:
            entry.pop("api_key", None)
        return {**masked, "providers": providers}

    return _config_commit(
        organization=organization,
        actor=actor,
        base_version=base_version,
        build=build,
        section="providers",
        message=message,
        rebase=_provider_rebase(original_name, values, remove_key, build) if merge else None,
    )


# What the merge compares for a key typed into the form: it differs from every stored mask.
_TYPED_KEY = "(the key you typed, not shown)"


def _provider_rebase(original_name: str | None, values: dict, remove_key: bool, build):
    def locate(document: dict) -> Any:
        return next(
            (p for p in document.get("providers", []) if p.get("name") == original_name), _MISSING
        )

    def rebase(base: OrgConfig, current: OrgConfig) -> Rebase:
        prefix = f"providers.{original_name}"
        if original_name is None:
            # An addition goes on top of the current list and changes nothing saved meanwhile.
            return Rebase(build=build, locate=locate, prefix="providers")
        if base.provider(original_name) is None or current.provider(original_name) is None:
            return Rebase(
                build=None,
                locate=locate,
                prefix=prefix,
                reason=f"{original_name} was removed or renamed meanwhile; reload the section.",
            )
        base_entry = locate(masked_document(base))
        current_entry = locate(masked_document(current))
        given = {name: value for name, value in values.items() if name != "api_key"}
        shown = {name: value for name, value in base_entry.items() if name != "api_key"}
        read = _as_schema_reads("providers", [given], [shown])
        yours = read[0] if isinstance(read, list) and read and read[0] is not given else given
        if values.get("api_key"):
            key = _TYPED_KEY
        elif remove_key:
            key = None
        else:
            key = base_entry["api_key"]  # left blank: unchanged from the base
        yours = {**yours, "api_key": key}
        merged, taken, both = three_way_merge(
            base_entry, current_entry, yours, _leaf_paths(Provider), into=dict(values)
        )
        # The key goes on as typed (or blank: the build keeps the current key).
        merged["api_key"] = values.get("api_key")
        return Rebase(
            build=lambda current, masked: build(current, masked, merged),
            locate=locate,
            prefix=prefix,
            taken=taken,
            conflicts=_field_conflicts(prefix, both, theirs=current_entry, yours=yours),
        )

    return rebase


def config_provider_toggle(
    *,
    organization: Organization,
    actor: Actor,
    base_version: int | None,
    name: str,
    enabled: bool,
) -> ConfigVersion | None:
    return _config_commit(
        organization=organization,
        actor=actor,
        base_version=base_version,
        build=lambda current, masked: {
            **masked,
            "providers": [
                {**p, "enabled": enabled} if p["name"] == name else p
                for p in _providers_with(masked, name)
            ],
        },
        section="providers",
        message=f"{'Enabled' if enabled else 'Disabled'} {name}",
    )


def config_provider_remove(
    *,
    organization: Organization,
    actor: Actor,
    base_version: int | None,
    name: str,
) -> ConfigVersion | None:
    return _config_commit(
        organization=organization,
        actor=actor,
        base_version=base_version,
        build=lambda current, masked: {
            **masked,
            "providers": [p for p in _providers_with(masked, name) if p["name"] != name],
        },
        section="providers",
        message=f"Removed {name}",
    )


def _providers_with(masked: dict, name: str) -> list[dict]:
    if not any(provider["name"] == name for provider in masked["providers"]):
        raise ConfigInvalid.at(
            ("providers",), f"{name} is no longer a provider; reload the section"
        )
    return masked["providers"]


@transaction.atomic
def config_restore(
    *,
    organization: Organization,
    actor: Actor,
    base_version: int | None,
    number: int,
) -> ConfigVersion | None:
    """Make version `number`'s document the current one, as a new version."""
    old = selectors.config_version_get(organization, number)
    if old is None:
        raise ConfigInvalid.at(
            ("version",), f"version {number} does not exist; pick one from the history"
        )
    return _config_commit(
        organization=organization,
        actor=actor,
        base_version=base_version,
        build=lambda current, masked: old.document,
        section="restore",
        message=f"Restored version {number}",
        restored_from=number,
    )
