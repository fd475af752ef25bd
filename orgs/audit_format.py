"""Audit entries and config changes as a person reads them: typed values (on/off, none, chips,
money, durations, masked secrets), each change as before → after, action labels and relative
times. The audit log, its CSV export and config history all format through this one module.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from orgs.roles import Role

# Past this many characters a value is cut in the table; the whole value stays in `title`.
TRUNCATE_AT = 48
HIDDEN = "•••• hidden"

# Every action a service records, with the words the log shows for it (the filter's choices).
ACTION_LABELS = {
    "organization.create": "Created the organization",
    "organization.rename": "Renamed the organization",
    "organization.billing_update": "Changed the billing contact",
    "config.update": "Changed the config",
    "config.restore": "Restored a config version",
    "member.role_change": "Changed a member's role",
    "member.remove": "Removed a member",
    "member.leave": "Left the organization",
    "invitation.create": "Invited a member",
    "invitation.resend": "Resent an invitation",
    "invitation.revoke": "Revoked an invitation",
    "invitation.accept": "Accepted an invitation",
    "key.create": "Created an API key",
    "key.update": "Changed an API key",
    "key.rotate": "Rotated an API key",
    "key.revoke": "Revoked an API key",
}

# The words of each detail a service writes ("rate_limit_rpm" reads "Rate limit (requests)").
FIELD_LABELS = {
    "from": "Before",
    "to": "After",
    "role": "Role",
    "refreshed": "Refreshed a pending invitation",
    "invited_by": "Invited by",
    "already_member": "Was already a member",
    "key_id": "Key",
    "name": "Name",
    "scopes": "Scopes",
    "expires_at": "Expires",
    "rate_limit_rpm": "Rate limit (requests)",
    "rate_limit_tpm": "Rate limit (tokens)",
    "allowed_models": "Allowed models",
    "allowed_ips": "Allowed IPs",
    "budget_limit": "Budget",
    "budget_period": "Budget period",
    "metadata": "Metadata",
    "grace": "Old secret valid for",
    "old_secret_valid_until": "Old secret valid until",
    "section": "Section",
    "version": "Version",
    "base_version": "Edited from version",
    "restored_from": "Restored from version",
    "merged_from": "Merged with version",
    "changed": "Changed",
}

# What a field's value is, by its name (the last part of a config path or a detail's key).
_MONEY = {"limit", "budget_limit", "cost"}
_SECONDS = {"ttl_seconds", "timeout_seconds"}
_MILLISECONDS = {"backoff_ms", "latency_ms", "ttft_ms"}
_REQUEST_RATES = {"rpm", "per_key_rpm", "rate_limit_rpm"}
_TOKEN_RATES = {"tpm", "per_key_tpm", "rate_limit_tpm"}
_FRACTIONS = {"alert_thresholds"}
_ROLES = {"role"}
# What an empty list means where it does not mean nothing (a key's models: all of the org's).
_EMPTY_MEANS = {"allowed_models": "all the org's models", "allowed_ips": "any address"}
_GRACE = {"none": "no grace: stopped at once", "1h": "1 hour", "24h": "24 hours", "7d": "7 days"}
# A detail under one of these names is a credential whatever it holds; `token_id` and `key_id`
# are public ids and read as they are.
_SECRET_NAMES = {"api_key", "secret", "password", "token", "key", "client_secret"}
_SECRET_SUFFIXES = ("_secret", "_password", "_token", "_api_key")
# A full gateway or provider key typed where it should not be ("sk-…" with no ellipsis: not a mask).
_KEY_SHAPED = re.compile(r"^(sk|pk|rk)[-_][A-Za-z0-9_-]{12,}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass(frozen=True)
class Shown:
    """One value as the log shows it: `kind` says what it is (on, off, none, list, money,
    duration, rate, time, secret, role, number, text), `text` what the cell says, `title` the
    whole value when the text is shortened, `items` the chips of a list."""

    kind: str
    text: str
    title: str = ""
    items: tuple["Shown", ...] = ()

    def __str__(self) -> str:
        """Plain text (CSV and change summaries): a list as its items joined by commas."""
        if self.kind == "list":
            return ", ".join(str(item) for item in self.items) if self.items else self.text
        return self.title or self.text


@dataclass(frozen=True)
class Line:
    """One line of an entry: `label: before → after` (a change), or `label: after` (a fact)."""

    label: str
    after: Shown | None
    before: Shown | None = None
    changed: bool = False
    # "added" or "removed" for a config path that appeared or went away.
    note: str = ""

    def __str__(self) -> str:
        if self.note == "removed":
            return f"{self.label}: removed (was {self.before})"
        if self.note == "added":
            return f"{self.label}: added ({self.after})"
        if self.changed:
            return f"{self.label}: {self.before} → {self.after}"
        return f"{self.label}: {self.after}"


@dataclass
class Entry:
    """An audit event dressed for the page and the export."""

    event: Any
    action_label: str
    actor: str
    via: str
    lines: list[Line] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return "; ".join(str(line) for line in self.lines)


def action_label(action: str) -> str:
    """The words of a known action; an unknown one reads as its code ("test.event")."""
    return ACTION_LABELS.get(action, action)


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


def _is_secret_name(name: str) -> bool:
    return name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES)


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def money(value) -> str:
    """USD with at least two decimals and no fewer than the amount has: 0.005 stays 0.005."""
    amount = Decimal(str(value))
    exponent = amount.normalize().as_tuple().exponent
    if not amount.is_finite() or not -12 <= exponent <= 15:
        # A stored value no longer passing the schema (1e999, NaN): shown as it is.
        return f"{value} USD"
    return f"${amount:,.{max(2, -exponent)}f} USD"


def duration(seconds: float) -> str:
    """45 → "45 s", 90 → "1 min 30 s", 3600 → "1 h", 86400 → "1 day"."""
    seconds = round(seconds, 3)
    if seconds < 60 or seconds >= 10**9:
        return f"{_number(seconds)} s"
    parts = []
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if rest:
        parts.append(f"{rest} s")
    return " ".join(parts)


def milliseconds(value: float) -> str:
    return f"{_number(value)} ms" if value < 1000 else duration(value / 1000)


def exact_time(moment: datetime, zone: tzinfo) -> str:
    """The time in the viewer's zone, named: "2026-03-01 09:30:12 Europe/Paris"."""
    local = moment.astimezone(zone)
    name = getattr(zone, "key", None) or local.tzname() or "UTC"
    return f"{local:%Y-%m-%d %H:%M:%S} {name}"


def _text(value: str) -> Shown:
    if len(value) > TRUNCATE_AT:
        return Shown("text", value[: TRUNCATE_AT - 1].rstrip() + "…", title=value)
    return Shown("text", value)


def shown(value: Any, name: str = "", *, zone: tzinfo | None = None) -> Shown:
    """A value typed by what it is and by its field's name (`limit`, `ttl_seconds`, `role` …).

    Never fails: a value its type cannot format (a stored number out of every range) reads as
    text."""
    try:
        return _shown(value, name.rsplit(".", 1)[-1], zone)
    except (ArithmeticError, ValueError, TypeError):
        return _text(str(value))


def _shown(value: Any, name: str, zone: tzinfo | None) -> Shown:
    if hasattr(value, "masked"):
        # A stored provider secret: only its mask ("sk-…abcd") was ever kept in a version.
        return Shown("secret", str(value.masked))
    if _is_secret_name(name) and value not in (None, "", "changed"):
        return Shown("secret", HIDDEN)
    if value is None or value == "":
        return Shown("none", "none")
    if isinstance(value, bool):
        return Shown("on", "on") if value else Shown("off", "off")
    if isinstance(value, (list, tuple)):
        if not value:
            return Shown("list", _EMPTY_MEANS.get(name, "empty"))
        items = tuple(
            Shown("number", _percent(item))
            if name in _FRACTIONS and isinstance(item, (int, float)) and not isinstance(item, bool)
            else shown(item, "", zone=zone)
            for item in value
        )
        return Shown("list", "", items=items)
    if isinstance(value, dict):
        inner = ", ".join(f"{key}: {shown(item, key, zone=zone)}" for key, item in value.items())
        return _text("{" + inner + "}") if inner else Shown("list", "empty")
    if name in _ROLES and value in Role.values:
        return Shown("role", Role(value).label)
    if name == "grace" and value in _GRACE:
        return Shown("duration", _GRACE[value])
    numeric = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    if name in _MONEY and (numeric or _is_decimal(value)):
        return Shown("money", money(value))
    if numeric:
        if name in _SECONDS:
            return Shown("duration", duration(value))
        if name in _MILLISECONDS:
            return Shown("duration", milliseconds(value))
        if name in _REQUEST_RATES:
            return Shown("rate", f"{_number(value)} requests/min")
        if name in _TOKEN_RATES:
            return Shown("rate", f"{_number(value)} tokens/min")
        return Shown("number", _number(value))
    text = str(value)
    if _KEY_SHAPED.match(text) and "…" not in text:
        return Shown("secret", HIDDEN)
    if _ISO_TIME.match(text) and zone is not None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return Shown("time", exact_time(moment, zone))
    return _text(text)


def _percent(value: float) -> str:
    return f"{_number(round(value * 100, 2))}%"


def _is_decimal(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


# -- Audit entries -------------------------------------------------------------------------------

# Details that say how the change was made, shown beside the actor instead of as a line.
_NOT_LINES = {"token_id"}
_WHOLE_CHANGES = {
    "member.role_change": ("role", "Role"),
    "organization.billing_update": ("billing_email", "Billing contact"),
    "organization.rename": ("name", "Name"),
}


def _actor(event) -> tuple[str, str]:
    who = event.actor_email or "system"
    if event.api_key_id:
        return who, f"key {event.api_key_id}"
    token = (event.details or {}).get("token_id") if isinstance(event.details, dict) else None
    if token:
        return who, f"token {token}"
    return who, ""


def _change(name: str, value: dict, zone: tzinfo) -> Line:
    return Line(
        field_label(name),
        before=shown(value.get("from"), name, zone=zone),
        after=shown(value.get("to"), name, zone=zone),
        changed=True,
    )


def _detail_lines(action: str, details: dict, zone: tzinfo, target: str = "") -> list[Line]:
    """One line a detail: `{"from", "to"}` pairs read before → after, the rest as facts."""
    details = {key: value for key, value in details.items() if key not in _NOT_LINES}
    if set(details) == {"from", "to"}:
        # A whole-entry change (rename, billing contact, role): the action names what changed.
        name, label = _WHOLE_CHANGES.get(action, ("value", "Value"))
        return [
            Line(
                label,
                before=shown(details["from"], name, zone=zone),
                after=shown(details["to"], name, zone=zone),
                changed=True,
            )
        ]
    lines = []
    for key, value in details.items():
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            lines.append(_change(key, value, zone))
        elif key == "metadata" and value == "changed":
            lines.append(Line(field_label(key), after=Shown("text", "changed (not recorded)")))
        elif key == "key_id" and value and value in target:
            continue  # the target names the key already: "billing (key_…)"
        else:
            fact = shown(value, key, zone=zone)
            if not _is_empty(fact):
                lines.append(Line(field_label(key), after=fact))
    return lines


def _is_empty(value: Shown) -> bool:
    """A fact that says nothing (a key created with no expiry, no IP list): left out, so an
    entry lists what was set. Changes to or from nothing are always shown."""
    if value.kind == "list":
        return not value.items
    return value.kind == "none" or not value.text


def config_lines(changes, zone: tzinfo | None = None) -> list[Line]:
    """A version's `document_changes` as typed lines: `budgets.limit: $100.00 USD → …`."""
    lines = []
    for change in changes:
        before = shown(change.old, change.path, zone=zone)
        after = shown(change.new, change.path, zone=zone)
        if change.kind == "added":
            lines.append(Line(change.path, after=after, note="added"))
        elif change.kind == "removed":
            lines.append(Line(change.path, after=None, before=before, note="removed"))
        else:
            lines.append(Line(change.path, after=after, before=before, changed=True))
    return lines


def entry(event, zone: tzinfo, *, config_changes=None) -> Entry:
    """An event as the log shows it. `config_changes` (a config event's `document_changes`,
    read from its versions) replaces the list of changed paths with before → after per path."""
    who, via = _actor(event)
    details = event.details if isinstance(event.details, dict) else {"details": event.details}
    if config_changes is not None:
        facts = {
            key: value for key, value in details.items() if key in ("restored_from", "merged_from")
        }
        lines = config_lines(config_changes, zone) + _detail_lines(event.action, facts, zone)
        if not config_changes:
            lines.insert(0, Line("Changes", after=Shown("none", "none")))
    else:
        lines = _detail_lines(event.action, details, zone, event.target or "")
    return Entry(
        event=event,
        action_label=action_label(event.action),
        actor=who,
        via=via,
        lines=lines,
    )
