"""Pending invitations past the newest 100: older pages (keyset), where each can be resent or
revoked, and a page that stays put after an action."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from members.models import Invitation
from members.selectors import INVITATIONS_ORDER, OPEN_INVITATIONS_SHOWN, open_invitations
from tests.members.test_members_page_queries import MEMBERS_PAGE_QUERIES

HTMX = {"HX-Request": "true", "HX-Target": "invitations"}
COUNT = 230
OLDER = re.compile(r'href="\?invitations_cursor=([^"#]+)#invitations"[^>]*>Older')
NEWER = re.compile(r'href="\?(invitations_cursor=[^"#]+)?#invitations"[^>]*>← Newer')


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
    return re.findall(r'<tr id="invitation-\d+">\s*<td[^>]*>([^<]+)</td>', page)


def test_keyset_pages_walk_every_pending_invitation_once(many_invitations):
    newest_first = list(
        Invitation.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    seen, sizes, cursor, pages = [], [], None, []
    while True:
        page = open_invitations(many_invitations, cursor=cursor)
        assert page.total == COUNT
        seen += [invitation.pk for invitation in page.invitations]
        sizes.append(len(page.invitations))
        pages.append(page)
        if not page.page.has_next:
            break
        cursor = page.page.next_cursor
    assert sizes == [OPEN_INVITATIONS_SHOWN, OPEN_INVITATIONS_SHOWN, 30]
    assert seen == newest_first
    # And back: each page's "newer" link gives the page before it.
    newer = open_invitations(many_invitations, cursor=pages[2].page.previous_cursor)
    assert newer.invitations == pages[1].invitations
    newest = open_invitations(many_invitations, cursor=newer.page.previous_cursor)
    assert newest.invitations == pages[0].invitations and not newest.page.has_previous


def test_the_oldest_invitations_can_be_reached_resent_and_revoked(client, many_invitations, owner):
    client.force_login(owner)
    url = reverse("members:list", args=[many_invitations.slug])
    page = client.get(url).content.decode()
    assert rows(page)[0] == "pending229@example.test" and len(rows(page)) == 100
    assert "Showing 100 of 230 pending invitations" in page
    assert "Newest" not in page and "Newer" not in page
    for expected in (100, 30):
        page = client.get(url + "?invitations_cursor=" + OLDER.search(page)[1]).content
        page = page.decode()
        assert len(rows(page)) == expected
    assert rows(page)[-1] == "pending000@example.test"
    assert OLDER.search(page) is None
    assert ">Newest</a>" in page
    newer = client.get(url + "?" + NEWER.search(page)[1]).content.decode()
    assert rows(newer)[0] == "pending129@example.test" and len(rows(newer)) == 100
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
        url, {"invitations_cursor": OLDER.search(first)[1]}, headers=HTMX
    ).content.decode()
    assert rows(older)[0] == "pending129@example.test"


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_revoking_on_an_older_page_stays_on_that_page(client, many_invitations, owner, htmx):
    client.force_login(owner)
    cursor = INVITATIONS_ORDER.cursor_after(Invitation.objects.get(email="pending030@example.test"))
    query = urlencode({"invitations_cursor": cursor})
    oldest = Invitation.objects.get(email="pending000@example.test")
    url = reverse("members:invitation_revoke", args=[many_invitations.slug, oldest.pk])
    page = client.get(
        reverse("members:list", args=[many_invitations.slug]), {"invitations_cursor": cursor}
    ).content.decode()
    assert f'action="{url}?{query}"' in page
    response = client.post(f"{url}?{query}", headers={"HX-Request": "true"} if htmx else {})
    if htmx:
        assert response.status_code == 200
        assert rows(response.content.decode())[0] == "pending029@example.test"
    else:
        assert response.status_code == 302
        assert response["Location"].endswith(f"?{query}#invitations")
    assert Invitation.objects.get(pk=oldest.pk).revoked_at is not None


@pytest.mark.parametrize("cursor", ["abc", "-4", "999999"])
def test_an_unusable_cursor_shows_the_newest(client, many_invitations, owner, cursor):
    client.force_login(owner)
    url = reverse("members:list", args=[many_invitations.slug])
    page = client.get(url, {"invitations_cursor": cursor}).content.decode()
    assert rows(page)[0] == "pending229@example.test"
    assert "That page link is out of date or was changed" in page


def test_a_position_in_another_org_pages_only_this_org(
    many_invitations, other_organization, outsider
):
    """A cursor is a position in the order, not a row: from another org's invitation it still
    lists only this org's, those older than that position."""
    elsewhere = Invitation.objects.create(
        organization=other_organization,
        email="elsewhere@example.test",
        role="member",
        invited_by=outsider,
        token_hash="0" * 64,
        created_at=timezone.now() - timedelta(days=30),
        expires_at=timezone.now(),
    )
    page = open_invitations(many_invitations, cursor=INVITATIONS_ORDER.cursor_after(elsewhere))
    assert page.invitations == [] and page.page.has_previous
    newest = open_invitations(many_invitations, cursor=page.page.previous_cursor)
    assert newest.invitations[0].email == "pending229@example.test"


def test_an_older_page_runs_a_fixed_number_of_queries(
    client, many_invitations, owner, django_assert_max_num_queries
):
    client.force_login(owner)
    url = reverse("members:list", args=[many_invitations.slug])
    client.get(url)
    cursor = INVITATIONS_ORDER.cursor_after(Invitation.objects.get(email="pending130@example.test"))
    # The page's own queries plus the count of open invitations (more than one page).
    with django_assert_max_num_queries(MEMBERS_PAGE_QUERIES + 1):
        response = client.get(url, {"invitations_cursor": cursor})
    assert len(rows(response.content.decode())) == 100
