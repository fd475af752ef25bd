"""No input ever gets a server error: every field of every form a caller is shown, given
boundary values one at a time (over-long strings, NUL and control characters, trailing newlines,
integers past 2^31 and 2^63, 1e9999999, NaN, addresses past 254 characters, empty, missing and
repeated fields, and each string and number inside the config's JSON document).

The forms come from the pages themselves (tests/site/crawl.py), so a new form is fuzzed the day
it is rendered. Each request runs in a savepoint that is rolled back: one organization, built
once per module (tests/site/conftest.py), serves every request. The suite gives each field one
value of each kind (tests/site/fuzz.py VALUE_CLASSES), the next value of a kind for the next
field; `make fuzz` runs the long form (PRISM_FUZZ=full: every value for every field and caller).
"""

import pytest

from tests.site.fuzz import (
    FULL,
    SHARP_VALUES,
    all_fields,
    assert_no_failures,
    form_request,
    forms_of,
    route_of,
    send,
    values_for,
    variants,
)

RELOADS_PER_FIELD = 2
SHARE_OF = {"viewer": 0, "member": 1, "admin": 2}
# The callers whose forms are fuzzed here; the outsider's refusals are in test_input_fuzz.py.
CRAWLED = ("anonymous", "viewer", "member", "admin", "owner")

# Marks the module as using the database, so the test database exists for the shared world.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("caller", CRAWLED)
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
