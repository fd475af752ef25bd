"""Readable differences between two stored config documents, for history and conflict messages.

Providers are compared by name (a rename reads as one removed and one added); provider
secrets are compared by reference and shown only by their masks.
"""

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from orgs.config_schema import SECTIONS, OrgConfig


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "added", "removed" or "changed"
    before: str = ""
    after: str = ""
    # The values themselves (a list as a tuple, a secret as its mask), for typed display.
    old: Any = dataclass_field(default=None, compare=False)
    new: Any = dataclass_field(default=None, compare=False)

    def __str__(self) -> str:
        if self.kind == "added":
            return f"{self.path}: added ({self.after})" if self.after else f"{self.path}: added"
        if self.kind == "removed":
            return f"{self.path}: removed"
        return f"{self.path}: {self.before} → {self.after}"


@dataclass(frozen=True)
class _Secret:
    secret_id: int | None
    masked: str


def display(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _Secret):
        return str(value.masked)
    if isinstance(value, tuple):
        return "[" + ", ".join(display(item) for item in value) + "]"
    return str(value)


def _flatten(value: Any, path: str, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}", into)
    elif isinstance(value, list):
        into[path] = tuple(value)
    else:
        into[path] = value


def _provider_fields(provider: dict) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in provider.items():
        if key == "api_key":
            fields[key] = (
                _Secret(value.get("secret_id"), value.get("masked", "…"))
                if isinstance(value, dict)
                else None
            )
        elif key != "name":
            _flatten(value, key, fields)
    return fields


def _provider_summary(provider: dict) -> str:
    models = provider.get("models") or []
    if not isinstance(models, list):
        count = "models unreadable"
    else:
        count = f"{len(models)} model{'s' if len(models) != 1 else ''}" if models else "all models"
    state = "" if provider.get("enabled", True) else ", disabled"
    return f"{provider.get('type', '?')}, {count}{state}"


def _in_schema_order(document: Any) -> dict:
    """PostgreSQL's jsonb keeps its own key order; list changes in the order of the schema.

    A stored document that no longer passes the schema is compared as stored, whatever its shape.
    """
    if not document:
        return {}
    try:
        return OrgConfig.model_validate(document, context={"untrusted": False}).model_dump(
            mode="json"
        )
    except (ValueError, RecursionError):
        return document if isinstance(document, dict) else {"document": document}


def _providers(document: dict) -> list[dict]:
    """The provider entries by name; an entry without a text name is named by its position."""
    providers = document.get("providers")
    if not isinstance(providers, list):
        return []
    entries = []
    for index, provider in enumerate(providers):
        if not isinstance(provider, dict):
            provider = {"value": provider}
        if not isinstance(provider.get("name"), str):
            provider = {**provider, "name": f"[{index}]"}
        entries.append(provider)
    return entries


def document_changes(before: Any, after: Any) -> list[Change]:
    """Every changed leaf from `before` to `after` (both stored documents), in schema order."""
    before, after = _in_schema_order(before), _in_schema_order(after)
    changes: list[Change] = []
    extra = [key for key in {**before, **after} if key not in SECTIONS]
    for section in [*SECTIONS, *extra]:
        if section == "providers":
            changes += _provider_changes(_providers(before), _providers(after))
            continue
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        _flatten(before.get(section, {}), section, old)
        _flatten(after.get(section, {}), section, new)
        for path in [*new, *(path for path in old if path not in new)]:
            if path not in old:
                changes.append(Change(path, "added", after=display(new[path]), new=new[path]))
            elif path not in new:
                changes.append(Change(path, "removed", before=display(old[path]), old=old[path]))
            elif old[path] != new[path] or type(old[path]) is not type(new[path]):
                changes.append(
                    Change(
                        path,
                        "changed",
                        display(old[path]),
                        display(new[path]),
                        old=old[path],
                        new=new[path],
                    )
                )
    return changes


def _provider_changes(before: list[dict], after: list[dict]) -> list[Change]:
    old = {provider.get("name"): provider for provider in before}
    new = {provider.get("name"): provider for provider in after}
    changes: list[Change] = []
    for name, provider in new.items():
        if name not in old:
            summary = _provider_summary(provider)
            changes.append(Change(f"providers.{name}", "added", after=summary, new=summary))
            continue
        old_fields, new_fields = _provider_fields(old[name]), _provider_fields(provider)
        for field in [*new_fields, *(f for f in old_fields if f not in new_fields)]:
            was, now = old_fields.get(field), new_fields.get(field)
            if was == now:
                continue
            if isinstance(was, _Secret) and isinstance(now, _Secret) and was.masked == now.masked:
                now = _Secret(now.secret_id, f"{now.masked} (replaced)")
            changes.append(
                Change(
                    f"providers.{name}.{field}",
                    "changed",
                    display(was),
                    display(now),
                    old=was,
                    new=now,
                )
            )
    changes += [
        Change(f"providers.{name}", "removed", old=_provider_summary(old[name]))
        for name in old
        if name not in new
    ]
    kept_old = [name for name in old if name in new]
    kept_new = [name for name in new if name in old]
    if kept_old != kept_new:
        changes.append(
            Change(
                "providers (order)",
                "changed",
                ", ".join(kept_old),
                ", ".join(kept_new),
                old=tuple(kept_old),
                new=tuple(kept_new),
            )
        )
    return changes
