"""Refused and missing pages keep a signed-in person's place: the layout, their org's menu when
they belong to the org in the address, and a sentence saying who can help."""

import pytest

from orgs.roles import ROLE_CAPABILITIES, ROLE_RANK, Capability, Role, refusal_sentence
from tests.factories import add_member, make_organization, make_user

pytestmark = pytest.mark.django_db

SIDE_MENU = 'aria-label="Organization"'
SWITCHER = 'aria-label="Switch organization"'


def test_every_refusal_names_the_least_role_that_can_and_who_grants_it():
    for role in Role:
        for capability in Capability:
            if capability in ROLE_CAPABILITIES[role]:
                continue
            sentence = refusal_sentence(role, capability)
            needed = min((r for r in Role if capability in ROLE_CAPABILITIES[r]), key=ROLE_RANK.get)
            assert sentence.startswith(f"{role.label}s can't ")
            assert sentence.endswith(f"for the {needed.label} role.")
    assert refusal_sentence(Role.VIEWER, Capability.VIEW_CONFIG) == (
        "Viewers can't see the org config or API keys. Ask an Owner or Admin for the Member role."
    )
    assert refusal_sentence(Role.ADMIN, Capability.MANAGE_ORGANIZATION).endswith(
        "Ask an Owner for the Owner role."
    )


@pytest.fixture
def acme():
    organization = make_organization("Acme AI")
    return organization, add_member(organization, Role.VIEWER, make_user("vic@example.test"))


def test_a_viewer_refused_api_keys_keeps_the_menu_and_reads_who_can_help(client, acme):
    organization, viewer = acme
    client.force_login(viewer)
    response = client.get(f"/o/{organization.slug}/settings/keys/")
    page = response.content.decode()
    assert response.status_code == 403
    assert (
        "Viewers can&#x27;t see the org config or API keys. "
        "Ask an Owner or Admin for the Member role." in page
    )
    assert SIDE_MENU in page and f'href="/o/{organization.slug}/"' in page
    assert SWITCHER in page and "Acme AI" in page
    # The menu offers only what a Viewer may open.
    assert f'href="/o/{organization.slug}/settings/keys/"' not in page


@pytest.mark.parametrize(
    "path", ["logs/999999/", "no-such-page/"], ids=["missing-log", "unknown-url"]
)
def test_a_missing_page_inside_my_org_keeps_its_menu(client, acme, path):
    organization, viewer = acme
    client.force_login(viewer)
    response = client.get(f"/o/{organization.slug}/{path}")
    assert response.status_code == 404
    page = response.content.decode()
    assert SIDE_MENU in page
    assert "Back to the Acme AI overview" in page


def test_a_404_for_an_org_i_do_not_belong_to_reveals_nothing_of_it(client, acme):
    organization, _ = acme
    mine = make_organization("Zed Labs")
    client.force_login(add_member(mine, Role.MEMBER, make_user("zed@example.test")))
    for path in ("", "settings/keys/", "no-such-page/"):
        response = client.get(f"/o/{organization.slug}/{path}")
        page = response.content.decode()
        assert response.status_code == 404
        assert "Acme AI" not in page
        assert SIDE_MENU not in page
        # Their own orgs stay one click away.
        assert SWITCHER in page and "Zed Labs" in page


def test_anonymous_visitors_get_the_plain_page(client):
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing here" in page
    assert SWITCHER not in page and SIDE_MENU not in page
