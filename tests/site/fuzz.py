"""The input fuzz's values, shared organization and request helpers.

Every request runs in a savepoint that is rolled back (`send`), so the organization built once
per module serves every request from the same starting state; a 5xx or an exception is recorded
with the request that caused it, and each test asserts there were none.
"""

import copy
import json
import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

from django.db import transaction
from django.test import Client
from django.urls import resolve
from django.urls.exceptions import Resolver404
from django.utils import timezone

from members.models import User
from orgs.models import Organization
from orgs.roles import Role
from tests.factories import add_member, make_organization, make_user
from tests.keys.conftest import OPENAI_AND_ANTHROPIC, make_key, set_org_config
from tests.matrix import CALLERS
from tests.members.helpers import invite
from tests.site.crawl import Form, Site

INT32 = 2**31
INT64 = 2**63

LONG_ADDRESS = "a" * 64 + "@" + ("b" * 60 + ".") * 4 + "test"  # valid, past 254 characters
# Values that broke, or could break, a parser, a column or a page. "{default}" is the field's
# own value, so "{default}\n" is a valid value with a trailing newline.
VALUES = [
    "a" * 10_000,
    "x\x00y",
    "{default}\n",
    str(INT32),
    str(INT64),
    "1e9999999",
    "1e9999999%",
    "NaN",
    LONG_ADDRESS,
]
# The same values by what they test. The suite sends each field one value of every class,
# taking the next value of a class for the next field, so every value still reaches every form
# (PRISM_FUZZ=full sends every value to every field).
VALUE_CLASSES = [
    ["a" * 10_000, LONG_ADDRESS],  # past a column's length
    ["x\x00y"],  # a character no column stores
    ["{default}\n"],  # valid but for a trailing newline
    [str(INT32), str(INT64)],  # past an integer column
    ["1e9999999", "1e9999999%"],  # past any decimal
    ["NaN"],  # a number that is none
]
# The sharpest few, for callers whose requests mostly end at the access check.
SHARP_VALUES = ["a" * 10_000, "x\x00y", "{default}\n", str(INT64), "1e9999999"]
# For callers refused before any field is read.
REFUSED_VALUES = ["a" * 10_000, "x\x00y"]
# Inside a JSON document (the config editor), each string and number in turn gets these.
JSON_STRINGS = ["{default}\n", "x\u0000y"]
JSON_NUMBERS = ["1e400", "9" * 5_000]
# PRISM_FUZZ=full gives every caller every value (a longer run, for `make fuzz`).
FULL = os.environ.get("PRISM_FUZZ") == "full"
if FULL:
    VALUES += [
        "",
        "-1",
        "a" * 255,
        "\x00",
        "\x01\x08\x0b\x1b\x7f",
        " {default} ",
        str(-INT64 - 1),
        "-1e9999999",
        "1e-9999999",
        "Infinity",
        "0",
        "ünïcødé ✓ 🚀 \u202e\u200b",
        "<script>alert(1)</script>",
        "' OR '1'='1",
        "../../etc/passwd",
        "{{ 7 * 7 }}%s%n",
        "x@" + "a" * 250 + ".test",
    ]
    SHARP_VALUES = REFUSED_VALUES = VALUES
    VALUE_CLASSES = [[value] for value in VALUES]
    JSON_STRINGS += ["a" * 10_000, "", "ünï 🚀"]
    JSON_NUMBERS += [str(INT64), "-1", "1e-400"]


def one_of_each_class(turn: int) -> list[str]:
    """A value of every class, the `turn`-th of each (so successive turns cover them all)."""
    return [members[turn % len(members)] for members in VALUE_CLASSES]


def one_in_turn(values: list, turn: int) -> list:
    """In the suite, just the `turn`-th of `values` (successive turns cover them all); every
    one of them under PRISM_FUZZ=full."""
    return list(values) if FULL else [values[turn % len(values)]]


MISSING = object()
DUPLICATED = object()

# Raw (already percent-encoded) values for one URL path segment.
SEGMENTS = [
    "%00",
    "x%00y",
    "a" * 300,
    "a" * 5_000,
    "%ff%fe",
    str(INT32),
    str(INT64),
    "-1",
    "1e9999999",
    "x%0A",
    "%C3%BC%F0%9F%9A%80",
    "%2e%2e",
    "%20",
]
OWNER_SEGMENTS = SEGMENTS if FULL else ["%00", "a" * 5_000, "%ff%fe", str(INT64), "-1", "x%0A"]
SHARP_SEGMENTS = SEGMENTS if FULL else ["x%00y", "a" * 5_000]

ODD_BODIES = [
    # (content type, body)
    ("application/x-www-form-urlencoded; charset=utf-16", None),
    ("application/x-www-form-urlencoded; charset=no-such-charset", None),
    ("application/x-www-form-urlencoded", "invalid-utf8"),
    ("multipart/form-data", None),  # no boundary
    ("multipart/form-data; boundary=xyz", "garbage"),
    ("application/json", "json"),
    ("text/plain", None),
]

WRONG_METHODS = ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"]
if not FULL:
    WRONG_METHODS = ["PUT", "DELETE"]


@dataclass
class Tally:
    requests: int = 0
    followed: int = 0  # pages reloaded after an accepted write
    failed: int = 0
    failures: list[str] = field(default_factory=list)


TALLY = Tally()


@dataclass
class World:
    slug: str
    seeds: dict[str, list[str]]
    clients: dict[str, Client]
    sites: dict[str, Site] = field(default_factory=dict)


def build_world() -> World:
    owner = make_user("fuzz-owner@example.test")
    organization = make_organization("Fuzz Org", owner=owner)
    users = {
        "owner": owner,
        "admin": add_member(organization, Role.ADMIN, make_user("fuzz-admin@example.test")),
        "member": add_member(organization, Role.MEMBER, make_user("fuzz-member@example.test")),
        "viewer": add_member(organization, Role.VIEWER, make_user("fuzz-viewer@example.test")),
    }
    other = make_organization("Fuzz Other", owner=make_user("fuzz-other-owner@example.test"))
    users["outsider"] = add_member(other, Role.OWNER, make_user("fuzz-outsider@example.test"))
    set_org_config(organization, OPENAI_AND_ANTHROPIC, actor=owner)
    for role in ("owner", "admin", "member"):
        make_key(organization, users[role], name=f"{role}-service", rate_limit_rpm=60)
    make_key(organization, users["admin"], name="admin-automation", scopes=["gateway", "admin"])
    make_key(other, users["outsider"], name="other-service")
    invite(organization, owner, "invited-member@example.test", role="member")
    _, token = invite(organization, owner, "invited-viewer@example.test", role="viewer")
    org = f"/o/{organization.slug}"
    signed_in = [
        "/",
        "/orgs/",
        "/orgs/new/",
        f"{org}/",
        f"{org}/settings/organization/",
        f"{org}/settings/members/",
        f"{org}/settings/keys/",
        f"{org}/settings/audit/",
        "/accounts/password/change/",
        f"/invitations/{token}/",
    ]
    anonymous = [
        "/accounts/login/?next=/orgs/",
        "/accounts/signup/?next=/orgs/",
        "/accounts/password/reset/",
        f"/invitations/{token}/",
        "/healthz",
    ]
    clients = {}
    for caller in CALLERS:
        client = Client()
        if caller != "anonymous":
            client.force_login(User.objects.get(pk=users[caller].pk))
        clients[caller] = client
    seeds = {caller: signed_in for caller in CALLERS if caller != "anonymous"}
    seeds["anonymous"] = anonymous
    # An outsider is also walked through this org's pages: every one must refuse cleanly.
    return World(slug=organization.slug, seeds=seeds, clients=clients)


def as_returning_visitors(world: World) -> None:
    """After the crawl: each member was seen just now and the session remembers the org, as for
    anyone who has opened a page of it. Otherwise every fuzz request, rolled back, would write
    both again (the membership's last-seen time and the session): writes the members and
    organizations tests cover, costing a quarter of the fuzz's queries."""
    organization = Organization.objects.get(slug=world.slug)
    organization.memberships.update(last_seen_at=timezone.now())
    members = set(organization.memberships.values_list("user_id", flat=True))
    for client in world.clients.values():
        session = client.session
        if session.get("_auth_user_id") and int(session["_auth_user_id"]) in members:
            session["last_org"] = world.slug
            session.save()


def rolled_back(call):
    with transaction.atomic():
        result = call()
        transaction.set_rollback(True)
    return result


def send(client: Client, method: str, url: str, *, then: str = "", **kwargs) -> bool:
    """One request in a rolled-back savepoint; a 5xx or an exception is recorded as a failure.
    When a write was accepted, `then` (the page the form was on) is loaded in the same savepoint:
    whatever a form lets through must not break the page that shows it. Returns whether it was."""
    cookies = copy.deepcopy(client.cookies)  # a sign-in or sign-out must not change the caller
    described = f"{method} {url[:160]!r} {str(kwargs.get('data'))[:200]!r}"
    followed = TALLY.followed

    def exchange():
        TALLY.requests += 1
        response = client.generic(method, url, **kwargs)
        if response.status_code >= 500:
            return response
        if then and method == "POST" and accepted(response):
            TALLY.requests += 1
            TALLY.followed += 1
            return client.get(then)
        return response

    try:
        response = rolled_back(exchange)
    except Exception as error:  # noqa: BLE001 - every exception is the finding
        TALLY.failures.append(f"{described} raised {type(error).__name__}: {error}"[:600])
        return False
    finally:
        client.cookies = cookies
    if response.status_code >= 500:
        TALLY.failures.append(f"{described} answered {response.status_code}")
    return TALLY.followed > followed


def accepted(response) -> bool:
    """A write went through: a redirect, or a page without a field error (errors are alerts)."""
    if 300 <= response.status_code < 400:
        return True
    return response.status_code < 300 and b'role="alert"' not in response.content


def assert_no_failures():
    failures, TALLY.failures = TALLY.failures, []
    TALLY.failed += len(failures)
    unique = list(dict.fromkeys(failures))
    assert unique == [], f"{len(unique)} server errors:\n" + "\n".join(unique[:40])


def form_request(form: Form, data: list[tuple[str, str]], *, reload: bool = True) -> dict:
    """Keyword arguments for `send`; `reload` loads the form's page again after an accepted
    write (skipped for empty and missing values, which store nothing unusual)."""
    headers = {"HX-Request": "true"} if form.htmx else {}
    if form.method == "GET":
        path = urlsplit(form.action).path
        return {"method": "GET", "url": f"{path}?{urlencode(data)}", "headers": headers}
    return {
        "method": "POST",
        "url": form.action,
        "then": form.page if reload else "",
        "data": urlencode(data),
        "content_type": "application/x-www-form-urlencoded",
        "headers": headers,
    }


def variants(form: Form, name: str, values: list[str]):
    """The form's default submission with `name` replaced by each boundary value, as
    (whether the value is unusual, data) pairs."""
    defaults = [(n, v) for n, v in form.fields if v != "" or n not in form.choices]
    default = next((v for n, v in form.fields if n == name), "")
    others = [(n, v) for n, v in defaults if n != name]
    for value in [*values, MISSING, *([DUPLICATED] if FULL else [])]:
        if value is MISSING:
            yield False, others
        elif value is DUPLICATED:
            yield False, [*others, (name, default), (name, "1e9999999")]
        else:
            yield value != "", [*others, (name, value.replace("{default}", default))]
    for document in json_variants(default):
        yield True, [*others, (name, document)]


def json_variants(text: str):
    """A field holding a JSON document: the document with one leaf replaced at a time."""
    try:
        document = json.loads(text)
    except ValueError:
        return
    if not isinstance(document, dict | list):
        return
    shapes = set()
    for turn, (path, leaf) in enumerate(leaves(document)):
        # providers[0].name and providers[1].name are read by the same code: fuzz one of them.
        shape = tuple("[]" if isinstance(step, int) else step for step in path)
        if shape in shapes and not FULL:
            continue
        shapes.add(shape)
        if isinstance(leaf, str):
            replacements = [
                json.dumps(value.replace("{default}", leaf))
                for value in one_in_turn(JSON_STRINGS, turn)
            ]
        elif isinstance(leaf, int | float) and not isinstance(leaf, bool):
            replacements = one_in_turn(JSON_NUMBERS, turn)
        else:
            continue
        for replacement in replacements:
            marker = "\x00leaf\x00"
            yield json.dumps(replaced(document, path, marker)).replace(
                json.dumps(marker), replacement
            )


def leaves(node, path=()):
    children = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in children:
        if isinstance(child, dict | list):
            yield from leaves(child, (*path, key))
        else:
            yield (*path, key), child
    if isinstance(node, dict) and node:
        # Keys are names too (provider names, fallback models): each key once.
        for key in list(node)[:3]:
            yield (*path, ("key", key)), key


def replaced(node, path, value):
    copied = copy.deepcopy(node)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if isinstance(last, tuple):  # a key: rename it, keeping its value
        parent[value] = parent.pop(last[1])
    else:
        parent[last] = value
    return copied


def route_of(path: str) -> str:
    """The URL pattern a path belongs to, so forms repeated per row are fuzzed once."""
    try:
        return resolve(urlsplit(path).path).route
    except Resolver404:
        return urlsplit(path).path


# Pages of the outsider's own organization (its slug is not this one's).
FOREIGN = re.compile(r"/o/(?!fuzz-org/)")


def forms_of(world: World, caller: str) -> list[Form]:
    """One form per (method, URL pattern, fields): a form repeated on every row is fuzzed once.
    Forms of another organization (the outsider's own) are left out: the Owner's run covers
    that code, and the outsider's run is about this organization."""
    distinct = {}
    for form in world.sites[caller].forms.values():
        if FOREIGN.match(form.action):
            continue
        distinct.setdefault((form.method, route_of(form.action), tuple(sorted(form.names))), form)
    return [distinct[key] for key in sorted(distinct)]


def values_for(caller: str, turn: int) -> list[str]:
    """A value of every class where input reaches the deepest code: the Owner's forms and the
    signed-out pages (sign-in, sign-up, password reset, invitations); `turn` picks which of a
    class's values."""
    return one_of_each_class(turn) if caller in ("owner", "anonymous") else SHARP_VALUES


def all_fields(form: Form, value: str) -> list[tuple[str, str]]:
    return [(name, value.replace("{default}", default)) for name, default in form.fields]


def route_templates(world: World) -> dict[tuple[str, str], dict[str, str]]:
    """Each (method, URL pattern) reached in the crawl, with real values for its parameters."""
    templates = {}
    paths = set()
    for caller in ("anonymous", "owner"):
        site = world.sites[caller]
        paths |= {("GET", urlsplit(url).path) for url in site.pages}
        paths |= {(form.method, urlsplit(form.action).path) for form in site.forms.values()}
    for method, path in sorted(paths):
        try:
            match = resolve(path)
        except Resolver404:
            continue
        if match.kwargs and (method, match.route) not in templates:
            templates[(method, match.route)] = {
                name: quote(str(value), safe="") for name, value in match.kwargs.items()
            }
    return templates


def fill(route: str, values: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


FORM_ENCODED = "application/x-www-form-urlencoded"


def odd_body(form: Form, content_type: str, body: str | None) -> bytes:
    if body == "invalid-utf8":
        return "&".join(f"{quote(name)}=%ff%fe%00%c3" for name in form.names).encode()
    if body == "json":
        return b'{"name": "\\u0000", "x": 1e9999999}'
    if body == "garbage":
        return b"--xyz\r\nContent-Disposition: form-data; name\r\n\r\n\xff\r\n--xyz"
    encoded = urlencode(form.fields)
    return encoded.encode("utf-16") if "utf-16" in content_type else encoded.encode()
