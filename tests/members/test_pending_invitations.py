"""Pending invitations past the newest 100: older pages (keyset), where each can be resent or
revoked, and a page that stays put after an action."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Invitation
from members.selectors import OPEN_INVITATIONS_SHOWN, open_invitations
from tests.members.test_members_page_queries import MEMBERS_PAGE_QUERIES

HTMX = {"HX-Request": "true", "HX-Target": "invitations"}
COUNT = 230
OLDER = re.compile(r'href="\?invitations_older_than=(\d+)#invitations"[^>]*>Older')


@pytest.fixture
def many_invitations(organization, owner):
    """230 open invitations; three at a time share a creation time, so ids break the ties."""
    start = timezone.now() - timedelta(days=1)
    Invitation.objects.bulk_create(
        [
            Invitation(
                organization=organization,
                email=f"pending{n:03}@example.test",
                role="member",
                invited_by=owner,
                token_hash=hashlib.sha256(f"token-{n}".encode()).hexdigest(),
                created_at=start + timedelta(minutes=n // 3),
                expires_at=start + timedelta(days=7),
            )
            for n in range(COUNT)
        ]
    )
    return organization


def rows(page: str) -> list[str]:
    return re.findall(r'<tr id="invitation-\d+">\s*<td>([^<]+)</td>', page)


def test_keyset_pages_walk_every_pending_invitation_once(many_invitations):
    newest_first = list(
        Invitation.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    seen, sizes, older_than = [], [], None
    while True:
        page = open_invitations(many_invitations, older_than=older_than)
        assert page.total == COUNT
        seen += [invitation.pk for invitation in page.invitations]
        sizes.append(len(page.invitations))
        if page.next_older_than is None:
            break
        older_than = page.next_older_than
    assert sizes == [OPEN_INVITATIONS_SHOWN, OPEN_INVITATIONS_SHOWN, 30]
    assert seen == newest_first


def test_the_oldest_invitations_can_be_reached_resent_and_revoked(client, many_invitations, owner):
    client.force_login(owner)
    url = reverse("members:list", args=[many_invitations.slug])
    page = client.get(url).content.decode()
    assert rows(page)[0] == "pending229@example.test" and len(rows(page)) == 100
    assert "Showing 100 of 230 pending invitations" in page
    assert "Newest" not in page
    for expected in (100, 30):
        page = client.get(url + "?invitations_older_than=" + OLDER.search(page)[1]).content
        page = page.decode()
        assert len(rows(page)) == expected
    assert rows(page)[-1] == "pending000@example.test"
    assert OLDER.search(page) is None
    assert ">← Newest</a>" in page
    oldest = Invitation.objects.get(email="pending000@example.test")
    assert reverse("members:invitation_resend", args=[many_invitations.slug, oldest.pk]) in page
    assert reverse("members:invitation_revoke", args=[many_invitations.slug, oldest.pk]) in page


def test_htmx_paging_swaps_only_the_invitations(client, many_invitations, owner):
    client.force_login(owner)
    url = reverse("members:list", args=[many_invitations.slug])
    first = client.get(url, headers=HTMX).content.decode()
    assert first.strip().startswith('<section class="card" id="invitations"')
    assert "<html" not in first
    older = client.get(
        url, {"invitations_older_than": OLDER.search(first)[1]}, headers=HTMX
    ).content.decode()
    assert rows(older)[0] == "pending129@example.test"


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_revoking_on_an_older_page_stays_on_that_page(client, many_invitations, owner, htmx):
    client.force_login(owner)
    cursor = Invitation.objects.get(email="pending030@example.test").pk
    oldest = Invitation.objects.get(email="pending000@example.test")
    url = reverse("members:invitation_revoke", args=[many_invitations.slug, oldest.pk])
    page = client.get(
        reverse("members:list", args=[many_invitations.slug]),
        {"invitations_older_than": cursor},
    ).content.decode()
    assert f'action="{url}?invitations_older_than={cursor}"' in page
    response = client.post(
        f"{url}?invitations_older_than={cursor}", headers={"HX-Request": "true"} if htmx else {}
    )
    if htmx:
        assert response.status_code == 200
        assert rows(response.content.decode())[0] == "pending029@example.test"
    else:
        assert response.status_code == 302
        assert response["Location"].endswith(f"?invitations_older_than={cursor}#invitations")
    assert Invitation.objects.get(pk=oldest.pk).revoked_at is not None


@pytest.mark.parametrize("cursor", ["abc", "-4", "999999"])
def test_an_unusable_cursor_shows_the_newest(client, many_invitations, owner, cursor):
    client.force_login(owner)
    url = reverse("members:list", args=[many_invitations.slug])
    page = client.get(url, {"invitations_older_than": cursor}).content.decode()
    assert rows(page)[0] == "pending229@example.test"


def test_another_orgs_invitation_is_no_cursor(
    client, many_invitations, other_organization, outsider, owner
):
    elsewhere = Invitation.objects.create(
        organization=other_organization,
        email="elsewhere@example.test",
        role="member",
        invited_by=outsider,
        token_hash="0" * 64,
        created_at=timezone.now() - timedelta(days=30),
        expires_at=timezone.now(),
    )
    page = open_invitations(many_invitations, older_than=elsewhere.pk)
    assert page.older_than is None
    assert page.invitations[0].email == "pending229@example.test"


def test_an_older_page_runs_a_fixed_number_of_queries(
    client, many_invitations, owner, django_assert_max_num_queries
):
    client.force_login(owner)
    url = reverse("members:list", args=[many_invitations.slug])
    client.get(url)
    cursor = Invitation.objects.get(email="pending130@example.test").pk
    # The page's own queries plus the cursor's creation time.
    with django_assert_max_num_queries(MEMBERS_PAGE_QUERIES + 1):
        response = client.get(url, {"invitations_older_than": cursor})
    assert len(rows(response.content.decode())) == 100
