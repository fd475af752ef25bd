"""No request ever gets a server error: every page each caller is led to, every query
parameter, every id, slug and token in a URL, forms posted by callers who were not shown them,
methods a route does not take and bodies it cannot parse, and every field of every form a caller
is shown, given boundary values one at a time (over-long strings, NUL and control characters,
trailing newlines, integers past 2^31 and 2^63, 1e9999999, NaN, addresses past 254 characters,
empty, missing and repeated fields, and each string and number inside the config's JSON
document). tests/site/fuzz.py holds the values.

The pages and forms come from the site itself (tests/site/crawl.py, one crawl per caller for the
whole module), so a new form is fuzzed the day it is rendered. Each request runs in a savepoint
that is rolled back: one organization, built once per module (tests/site/conftest.py), serves
every request. The suite gives each field one value of each kind (tests/site/fuzz.py
VALUE_CLASSES), the next value of a kind for the next field; `make fuzz` runs the long form
(PRISM_FUZZ=full: every value for every field and caller).
"""

from urllib.parse import urlencode, urlsplit

import pytest

from tests.matrix import CALLERS
from tests.site.crawl import SKIP_PREFIXES
from tests.site.fuzz import (
    FOREIGN,
    FORM_ENCODED,
    FULL,
    ODD_BODIES,
    OWNER_SEGMENTS,
    REFUSED_VALUES,
    SHARP_SEGMENTS,
    SHARP_VALUES,
    VALUES,
    WRONG_METHODS,
    all_fields,
    assert_no_failures,
    fill,
    form_request,
    forms_of,
    odd_body,
    one_in_turn,
    route_of,
    route_templates,
    send,
    values_for,
    variants,
)

# Marks the module as using the database, so the test database exists for the shared world.
pytestmark = pytest.mark.django_db

# Members of the organization, each sending its share of the values the Owner sends in full.
SHARE_OF = {"viewer": 0, "member": 1, "admin": 2}
RELOADS_PER_FIELD = 2


@pytest.mark.parametrize("caller", CALLERS)
def test_every_page_renders(world, caller):
    """Every page and htmx partial a caller was led to answered without a server error."""
    pages = world.sites[caller].pages
    assert len(pages) > (3 if caller == "anonymous" else 8)
    errors = {url: status for url, status in pages.items() if status >= 500}
    assert errors == {}


@pytest.mark.parametrize("caller", CALLERS)
def test_labels_and_descriptions_point_at_elements(world, caller):
    """Every `for`, `aria-describedby`, `aria-labelledby` and `aria-controls` on a full page
    names an element of that page, so screen readers announce what the page means."""
    assert world.sites[caller].dangling == {}


def test_crawl_finds_the_forms_people_use(world):
    """Guards the crawler: if it stopped seeing forms, the fuzz would pass by testing nothing."""
    owner_actions = {urlsplit(form.action).path for form in forms_of(world, "owner")}
    org = f"/o/{world.slug}"
    for expected in (
        f"{org}/settings/keys/new/",
        f"{org}/settings/members/invitations/",
        f"{org}/settings/organization/general/",
        f"{org}/settings/organization/document/",
        f"{org}/settings/organization/config/budgets/",
        f"{org}/settings/organization/providers/",
        "/orgs/new/",
    ):
        assert expected in owner_actions, f"no form posts to {expected}"
    anonymous_actions = {urlsplit(form.action).path for form in forms_of(world, "anonymous")}
    assert {"/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"} <= (
        anonymous_actions
    )


@pytest.mark.parametrize("caller", ["anonymous", "outsider", "viewer", "member", "admin"])
def test_forms_of_other_roles(world, caller):
    """The Owner's forms posted by callers who were not shown them: refused, never a 500."""
    client = world.clients[caller]
    own = {(form.method, route_of(form.action)) for form in forms_of(world, caller)}
    for form in forms_of(world, "owner"):
        if (form.method, route_of(form.action)) in own:
            continue
        send(client, **form_request(form, form.fields))
        for value in REFUSED_VALUES:
            send(client, **form_request(form, all_fields(form, value)))
    assert_no_failures()


@pytest.mark.parametrize("caller", CALLERS)
def test_query_parameters(world, caller):
    """Every query parameter seen in a link or GET form, plus `next`, given every value."""
    client = world.clients[caller]
    by_route: dict[str, tuple[str, set[str]]] = {}
    for site in world.sites.values():
        for path, names in sorted(site.parameters.items()):
            if not path.startswith(SKIP_PREFIXES) and not FOREIGN.match(path):
                by_route.setdefault(route_of(path), (path, set()))[1].update(names)
    turn = 0
    for path, names in by_route.values():
        for name in sorted({*names, "next"}):
            # Every value where a redirect target is read; the sharp ones elsewhere. The Viewer,
            # the Member and the Admin read the Owner's pages with the Owner's code: each sends
            # one value per parameter, the next one for the next parameter.
            values = SHARP_VALUES if name == "next" or caller == "owner" else REFUSED_VALUES
            if caller in ("viewer", "member", "admin"):
                turn += 1
                values = one_in_turn(SHARP_VALUES, turn + SHARE_OF[caller])
            for number, value in enumerate(VALUES if name == "next" and FULL else values):
                query = urlencode({name: value.replace("{default}", "1")})
                # Alternate full pages and htmx partials: both read the parameters.
                headers = {"HX-Request": "true"} if number % 2 else {}
                send(client, "GET", f"{path}?{query}", headers=headers)
    assert_no_failures()


@pytest.mark.parametrize("caller", CALLERS)
def test_url_segments(world, caller):
    """Every id, slug and token in a URL replaced with junk: 404 or a refusal, never a 500."""
    client = world.clients[caller]
    templates = route_templates(world)
    assert len(templates) >= 10
    turn = 0
    for (method, route), real in templates.items():
        for name in real:
            turn += 1
            if caller == "owner":
                segments = OWNER_SEGMENTS
            elif caller in SHARE_OF:
                # The Owner's routes, refused or served by the Owner's code: one segment each.
                segments = one_in_turn(SHARP_SEGMENTS, turn + SHARE_OF[caller])
            else:
                segments = SHARP_SEGMENTS
            for segment in segments:
                url = fill(route, {**real, name: segment})
                send(client, method, url, data="", content_type=FORM_ENCODED)
    assert_no_failures()


@pytest.mark.parametrize("caller", ["anonymous", "owner"])
def test_wrong_methods_and_bodies(world, caller):
    """Methods a route does not take and bodies it cannot parse: a 4xx, never a 500."""
    client = world.clients[caller]
    urls = {route_of(url): url for url in sorted(world.sites[caller].pages)}
    urls |= {route_of(form.action): form.action for form in forms_of(world, caller)}
    for url in sorted(urls.values()):
        for method in WRONG_METHODS:
            send(client, method, url)
    for turn, form in enumerate(forms_of(world, caller)):
        if form.method != "POST":
            continue
        send(client, "GET", form.action)
        # Django parses every form's body the same way: the suite gives each form a third of
        # the odd bodies, the next third to the next form (PRISM_FUZZ=full: all to every form).
        for content_type, body in ODD_BODIES if FULL else ODD_BODIES[turn % 3 :: 3]:
            payload = odd_body(form, content_type, body)
            send(client, "POST", form.action, data=payload, content_type=content_type)
        too_many = "&".join(f"field{number}=1" for number in range(1_200))
        send(client, "POST", form.action, data=too_many, content_type=FORM_ENCODED)
    assert_no_failures()


# The outsider is shown no form of this org; its refusals are in test_forms_of_other_roles.
@pytest.mark.parametrize("caller", [caller for caller in CALLERS if caller != "outsider"])
def test_form_fields(world, caller):
    """Each field of each form the caller is shown, given each boundary value in turn while the
    other fields keep their defaults (so a value that passes the form reaches the database)."""
    client = world.clients[caller]
    owner_routes = {(form.method, route_of(form.action)) for form in forms_of(world, "owner")}
    turn = 0
    for form in forms_of(world, caller):
        shared = caller not in ("owner", "anonymous") and (
            (form.method, route_of(form.action)) in owner_routes
        )
        if shared and not FULL:
            # The Owner's run covers the fields; this role's own checks get every field at once,
            # the sharp values shared out between the Viewer, the Member and the Admin.
            for value in SHARP_VALUES[SHARE_OF[caller] :: len(SHARE_OF)]:
                send(client, **form_request(form, all_fields(form, value)))
            continue
        for name in form.names:
            if name == "csrfmiddlewaretoken":
                continue  # the test client does not check it; CSRF has its own tests
            turn += 1
            values = values_for(caller, turn)
            if name in form.choices and not FULL:
                values = SHARP_VALUES  # a closed set of choices: one refusal path
            reloads = 0
            for unusual, data in variants(form, name, values):
                # A page reload costs a full render: the first few accepted values per field.
                reload = unusual and (FULL or reloads < RELOADS_PER_FIELD)
                reloads += send(client, **form_request(form, data, reload=reload))
        send(client, **form_request(form, []))  # every field missing
    assert_no_failures()
