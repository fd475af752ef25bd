"""Settings > API keys never answers bad input with a server error: numbers past their column,
malformed key ids in the URL, junk query parameters and unsafe return addresses are refused
with a 4xx that names the field (run these on PostgreSQL too: it refuses what SQLite stores).
"""

import re
from decimal import Decimal

import pydantic
import pytest
from django.urls import reverse

from keys.models import VirtualKey
from keys.services import KeyAttributes, key_create, key_update
from prism_site.actor import Actor
from prism_site.errors import Invalid
from tests.keys.conftest import make_key

HTMX = {"HX-Request": "true"}
INT_MAX = 2**31 - 1

# Marks the module as using the database, so the test database exists for the shared org.
pytestmark = pytest.mark.django_db


# The organization is built once for the module (tests/conftest.py `shared_org`).
@pytest.fixture
def organization(shared_organization):
    return shared_organization


@pytest.fixture
def owner(shared_owner):
    return shared_owner


def url(name, organization, key_id=None):
    kwargs = {"slug": organization.slug}
    if key_id is not None:
        kwargs["key_id"] = key_id
    return reverse(f"keys:{name}", kwargs=kwargs)


def text(response) -> str:
    return response.content.decode()


def valid_form(**fields):
    return {"name": "checkout", "scopes": ["gateway"], **fields}


# -- Numbers past their column -----------------------------------------------------------------

TOO_BIG = [str(2**31), str(2**63), str(2**64), "9" * 30]
NOT_WHOLE = ["1e9999999", "NaN", "Infinity", "-1", "0", "1.5", "9" * 10_000, "1\x00"]


@pytest.mark.parametrize("field", ["rate_limit_rpm", "rate_limit_tpm"])
@pytest.mark.parametrize("value", TOO_BIG)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_rate_limit_past_the_column_is_a_field_error_on_create(
    client, organization, owner, field, value, htmx
):
    client.force_login(owner)
    response = client.post(
        url("create", organization), valid_form(**{field: value}), headers=HTMX if htmx else {}
    )
    assert response.status_code == (200 if htmx else 400)
    assert f"{field}: must be at most {INT_MAX}" in text(response)
    assert not VirtualKey.objects.exists()


@pytest.mark.parametrize("field", ["rate_limit_rpm", "rate_limit_tpm"])
@pytest.mark.parametrize("value", TOO_BIG + NOT_WHOLE)
def test_a_rate_limit_past_the_column_is_a_field_error_on_edit(
    client, organization, owner, field, value
):
    key = make_key(organization, owner, rate_limit_rpm=60, rate_limit_tpm=1000).key
    client.force_login(owner)
    response = client.post(url("update", organization, key.public_id), valid_form(**{field: value}))
    assert response.status_code == 400
    assert f"{field}: " in text(response)
    key.refresh_from_db()
    assert (key.rate_limit_rpm, key.rate_limit_tpm) == (60, 1000)


@pytest.mark.parametrize("value", NOT_WHOLE)
def test_a_rate_limit_that_is_no_whole_number_is_a_field_error_on_create(
    client, organization, owner, value
):
    client.force_login(owner)
    response = client.post(url("create", organization), valid_form(rate_limit_rpm=value))
    assert response.status_code == 400
    assert "rate_limit_rpm: " in text(response)
    assert not VirtualKey.objects.exists()


def test_the_largest_rate_limit_the_column_holds_is_saved(client, organization, owner):
    client.force_login(owner)
    response = client.post(
        url("create", organization),
        valid_form(rate_limit_rpm=str(INT_MAX), rate_limit_tpm=str(INT_MAX)),
    )
    assert response.status_code == 200
    assert VirtualKey.objects.get().rate_limit_tpm == INT_MAX


BAD_BUDGETS = [
    "1e9999999",
    "-1e9999999",
    "1e-9999999",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "-1",
    str(2**63),
    "10000000000",
    "0.001",
    "9" * 10_000,
    "1\x00",
]


@pytest.mark.parametrize("value", BAD_BUDGETS)
@pytest.mark.parametrize("editing", [False, True], ids=["create", "edit"])
def test_a_budget_the_column_cannot_hold_is_a_field_error(
    client, organization, owner, value, editing
):
    key = make_key(organization, owner, name="kept").key if editing else None
    client.force_login(owner)
    target = url("update", organization, key.public_id) if editing else url("create", organization)
    response = client.post(target, valid_form(budget_limit=value, budget_period="monthly"))
    assert response.status_code == 400
    assert "budget_limit: " in text(response)
    assert not VirtualKey.objects.filter(budget_limit__isnull=False).exists()


def test_a_budget_past_the_column_names_the_largest_amount(client, organization, owner):
    client.force_login(owner)
    for value in ("10000000000", "1e9999999", str(2**63)):
        response = client.post(
            url("create", organization), valid_form(budget_limit=value, budget_period="daily")
        )
        assert "budget_limit: must be at most 9999999999.99" in text(response), value


@pytest.mark.parametrize("value", ["9999999999.99", "1E+5", "0", "-0", "12.5", "0E+99999999"])
def test_a_budget_the_column_holds_is_saved(client, organization, owner, value):
    client.force_login(owner)
    response = client.post(
        url("create", organization), valid_form(budget_limit=value, budget_period="daily")
    )
    assert response.status_code == 200
    assert VirtualKey.objects.get().budget_limit == Decimal(value)


@pytest.mark.parametrize(
    "attributes, field",
    [
        ({"rate_limit_rpm": 2**31}, "rate_limit_rpm"),
        ({"rate_limit_tpm": 2**63}, "rate_limit_tpm"),
        ({"budget_limit": Decimal("1e9999999"), "budget_period": "daily"}, "budget_limit"),
        ({"budget_limit": Decimal("NaN"), "budget_period": "daily"}, "budget_limit"),
        ({"budget_limit": Decimal("Infinity"), "budget_period": "daily"}, "budget_limit"),
        ({"budget_limit": Decimal("0.001"), "budget_period": "daily"}, "budget_limit"),
        ({"budget_limit": float("inf"), "budget_period": "daily"}, "budget_limit"),
        ({"budget_limit": 10**5000, "budget_period": "daily"}, "budget_limit"),
        ({"budget_limit": "12.50", "budget_period": "daily"}, "budget_limit"),
        ({"name": "nul\x00name"}, "name"),
        ({"metadata": {"team": "pay\x00ments"}}, "metadata"),
        ({"allowed_models": ["gpt\x00"]}, "allowed_models"),
    ],
)
def test_the_services_refuse_what_the_columns_cannot_hold(organization, owner, attributes, field):
    """Callers other than the page (the API with a request body, scripts) get the same field
    errors; a script building the attributes itself is refused at that moment, naming the field."""
    with pytest.raises(Invalid) as refused:
        key_create(
            organization=organization,
            actor=Actor(owner),
            attributes={"name": "direct", **attributes},
        )
    assert field in refused.value.errors
    key = make_key(organization, owner, name="kept").key
    with pytest.raises(Invalid) as refused:
        key_update(key=key, actor=Actor(owner), attributes={"name": "kept", **attributes})
    assert field in refused.value.errors
    assert VirtualKey.objects.count() == 1
    with pytest.raises(pydantic.ValidationError) as refused:
        KeyAttributes(**{"name": "direct", **attributes})
    assert [error["loc"][0] for error in refused.value.errors()] == [field]


# -- Malformed key ids in the URL --------------------------------------------------------------

MALFORMED_IDS = [
    "%00",
    "key_%00",
    "key_0000000000000000000%00",
    "a" * 10_000,
    "key_" + "A" * 10_000,
    "%ff",
    "%C0%AF",
    "ключ",
    "key_000000000000000000ü",
    "key_0000000000000000000A%0A",
    "%20",
    "..",
]


@pytest.mark.parametrize("raw_id", MALFORMED_IDS)
@pytest.mark.parametrize("action", ["", "edit/", "rotate/", "revoke/"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_malformed_key_id_is_not_found(client, organization, owner, raw_id, action, method):
    make_key(organization, owner)
    client.force_login(owner)
    path = f"/o/{organization.slug}/settings/keys/{raw_id}/{action}"
    data = valid_form(grace="none") if method == "post" else {}
    response = getattr(client, method)(path, data)
    assert response.status_code == 404


@pytest.mark.parametrize("raw_id", ["%00", "a" * 10_000, "%ff"])
def test_a_malformed_key_id_is_not_found_for_htmx_either(client, organization, owner, raw_id):
    client.force_login(owner)
    response = client.get(f"/o/{organization.slug}/settings/keys/{raw_id}/?edit=1", headers=HTMX)
    assert response.status_code == 404


# -- Query parameters of the inventory ---------------------------------------------------------

JUNK_QUERIES = [
    "before=99999999999999999999",
    f"before={2**63}",
    f"before={2**63 - 1}",
    "before=-1",
    "before=0",
    "before=%00",
    "before=1e9999999",
    "before=" + "9" * 10_000,
    "status=%00",
    "status=deleted",
    "status=" + "a" * 10_000,
    "mine=%00",
    "mine=" + "x" * 300,
    "status=active&status=revoked",
    "cursor=%ff",
    "page=99999999999999999999",
]


@pytest.mark.parametrize("query", JUNK_QUERIES)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_junk_in_the_inventory_query_still_lists_keys(client, organization, owner, query, htmx):
    make_key(organization, owner, name="listed")
    client.force_login(owner)
    response = client.get(f"{url('list', organization)}?{query}", headers=HTMX if htmx else {})
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["edit=%00", "edit=" + "1" * 10_000, "edit=1&edit=%ff"])
def test_junk_in_the_detail_query_shows_the_key(client, organization, owner, query):
    key = make_key(organization, owner).key
    client.force_login(owner)
    response = client.get(f"{url('detail', organization, key.public_id)}?{query}")
    assert response.status_code == 200


# -- Where revoke returns to -------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix", ["\r\nSet-Cookie: a=b", "\n", "\x00", "\t", "\x7f", "\u2028", "é" * 3000]
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_revoke_with_an_unsafe_next_returns_to_the_key(client, organization, owner, suffix, htmx):
    key = make_key(organization, owner).key
    client.force_login(owner)
    response = client.post(
        url("revoke", organization, key.public_id),
        {"next": url("list", organization) + suffix},
        headers=HTMX if htmx else {},
    )
    target = response["HX-Redirect"] if htmx else response["Location"]
    assert target == key.get_absolute_url()
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.parametrize("next_url", ["\x00", "a" * 10_000, "javascript:alert(1)"])
def test_revoke_dialog_with_junk_next_still_opens(client, organization, owner, next_url):
    key = make_key(organization, owner).key
    client.force_login(owner)
    response = client.get(url("revoke", organization, key.public_id), {"next": next_url})
    assert response.status_code == 200
    assert "javascript:" not in text(response)


# -- Every other field of the key form ---------------------------------------------------------

ODD_TEXT = ["\x00", "a\x00b", "x" * 10_000, "\x01\x1b[31m", "line\n", "\u202e", "%ff", "😀" * 300]


@pytest.mark.parametrize(
    "field", ["name", "allowed_models", "allowed_ips", "metadata", "expires_at", "budget_period"]
)
@pytest.mark.parametrize("value", ODD_TEXT)
@pytest.mark.parametrize("editing", [False, True], ids=["create", "edit"])
def test_odd_text_in_any_key_field_is_no_server_error(
    client, organization, owner, field, value, editing
):
    key = make_key(organization, owner, name="kept").key if editing else None
    client.force_login(owner)
    target = url("update", organization, key.public_id) if editing else url("create", organization)
    response = client.post(target, valid_form(**{field: value}))
    assert response.status_code in (200, 302, 400)
    if response.status_code == 400 and "\x00" in value:
        assert f"{field}: " in text(response)
    assert all("\x00" not in key.name for key in VirtualKey.objects.all())


@pytest.mark.parametrize(
    "expires_at", ["9999-12-31T23:59", "10000-01-01T00:00", "0001-01-01T00:00", "2030-02-30T00:00"]
)
def test_an_expiry_at_the_edge_of_the_calendar_is_no_server_error(
    client, organization, owner, expires_at
):
    client.force_login(owner)
    response = client.post(url("create", organization), valid_form(expires_at=expires_at))
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("grace", ["", "\x00", "forever", "x" * 10_000])
def test_a_rotation_grace_that_is_no_choice_is_a_field_error(client, organization, owner, grace):
    key = make_key(organization, owner).key
    client.force_login(owner)
    response = client.post(url("rotate", organization, key.public_id), {"grace": grace})
    assert response.status_code == 400
    assert "grace: " in text(response)


@pytest.mark.parametrize("scopes", [[], ["\x00"], ["root"], ["gateway", "x" * 10_000]])
def test_scopes_that_are_no_choice_are_a_field_error(client, organization, owner, scopes):
    client.force_login(owner)
    response = client.post(url("create", organization), {"name": "svc", "scopes": scopes})
    assert response.status_code == 400
    assert "scopes: " in text(response)
    assert not VirtualKey.objects.exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_empty_post_shows_what_is_missing(client, organization, owner, htmx):
    key = make_key(organization, owner).key
    client.force_login(owner)
    headers = HTMX if htmx else {}
    created = client.post(url("create", organization), {}, headers=headers)
    assert created.status_code == (200 if htmx else 400)
    assert "name: give the key a name." in text(created)
    rotated = client.post(url("rotate", organization, key.public_id), {}, headers=headers)
    assert rotated.status_code == (200 if htmx else 400)
    assert "grace: choose one of" in text(rotated)
    assert VirtualKey.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "entry", "status"),
    [
        ("allowed_ips", "10." + "9" * 10_000, 400),  # refused
        ("allowed_models", "model-" + "x" * 10_000, 200),  # saved with a warning (no model list)
    ],
)
def test_a_message_repeats_an_entry_shortened_not_whole(
    client, organization, owner, field, entry, status
):
    client.force_login(owner)
    response = client.post(url("create", organization), valid_form(**{field: entry}))
    assert response.status_code == status
    messages = re.findall(rf"{field}: [^<]*", text(response))
    assert messages and all(len(message) < 400 for message in messages), messages
    assert any(entry[:60] + "…" in message for message in messages)
