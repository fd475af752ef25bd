"""Invitations in Chromium through the task worker and a real SMTP server, three people in three
browser contexts: the Owner invites an Admin, who signs up from the emailed link and invites a
Viewer; the Viewer sees the members but no controls; the Owner demotes the Admin, whose next
request shows it."""

import re

import pytest
from playwright.sync_api import expect

from orgs.models import Membership
from orgs.roles import Role
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.members.helpers import LoopbackSMTP, link_in
from tests.members.worker import background_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADA = "ada@example.test"
VIC = "vic@example.test"


def next_message(smtp: LoopbackSMTP, count: int):
    """Wait until the server holds `count` messages; return the last one's plain text."""
    for _ in range(100):
        if len(smtp.messages) >= count:
            break
        smtp.received.wait(0.1)
        smtp.received.clear()
    assert len(smtp.messages) >= count, "the invitation email did not arrive"
    return smtp.messages[count - 1].get_body(preferencelist=("plain",)).get_content()


def invite(page, email: str, role: str):
    invitations = page.get_by_role("region", name="Invitations")
    invitations.get_by_label("Email addresses").fill(email)
    invitations.get_by_label("Role", exact=True).select_option(label=role)
    invitations.get_by_role("button", name="Send invitations").click()
    expect(page.get_by_text(f"Invited {email} as {role}.")).to_be_visible()
    pending = page.get_by_role("region", name="Invitations").get_by_role("table")
    expect(pending.get_by_role("row").filter(has_text=email)).to_contain_text("Pending")


def join_from_email(page, link: str, *, name: str, org: str, role: str):
    page.goto(link)
    expect(page.get_by_role("heading", name=f"Join {org} on Prism")).to_be_visible()
    expect(page.get_by_text(role, exact=True)).to_be_visible()
    page.get_by_role("link", name="Create account").click()
    email_field = page.get_by_label("Email")
    expect(email_field).to_be_disabled()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    # Signing up accepts too: the new member lands in the org's overview.
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(f"You joined {org} as {role}.")).to_be_visible()
    expect(page.get_by_text(f"Your role: {role}")).to_be_visible()


def open_members(page):
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Settings · Members")).to_be_visible()


@pytest.fixture
def three_browsers(browser):
    """Three separate browser contexts (cookies, sessions): the Owner, Ada and Vic."""
    contexts = [browser.new_context() for _ in range(3)]
    yield [context.new_page() for context in contexts]
    # Closing drops the browsers' keep-alive connections before the live server stops.
    for context in contexts:
        context.close()


def test_invite_accept_and_manage_roles_across_three_browsers(
    three_browsers, live_server, settings
):
    base = live_server.url
    owner = make_user("olivia@example.test", display_name="Olivia Owner")
    organization = make_organization("Acme AI", owner=owner)
    owner_page, ada_page, vic_page = three_browsers

    # The task worker runs beside the live server, as `make run` starts it beside runserver.
    with LoopbackSMTP() as smtp, background_worker():
        settings.MAILERS = smtp.mailers

        # The Owner invites Ada as Admin.
        sign_in(owner_page, base, owner.email, PASSWORD)
        owner_page.goto(f"{base}{organization.get_absolute_url()}")
        open_members(owner_page)
        invite(owner_page, ADA, "Admin")
        text = next_message(smtp, 1)
        assert "Olivia Owner" in text and "Acme AI" in text and "as Admin" in text

        # Ada opens the link from the email, signs up with the invited address, accepts.
        join_from_email(ada_page, link_in(text), name="Ada Admin", org="Acme AI", role="Admin")

        # Ada invites Vic as Viewer; Vic joins the same way.
        open_members(ada_page)
        invitations = ada_page.get_by_role("region", name="Invitations")
        role_choices = invitations.get_by_label("Role", exact=True).locator("option")
        expect(role_choices).to_have_text(["Admin", "Member", "Viewer"])
        invite(ada_page, VIC, "Viewer")
        text = next_message(smtp, 2)
        assert "Ada Admin" in text and "as Viewer" in text
        join_from_email(vic_page, link_in(text), name="Vic Viewer", org="Acme AI", role="Viewer")

        # Vic sees every member and their roles, and no control to change anything.
        open_members(vic_page)
        members = vic_page.get_by_role("table").filter(has_text="Last seen")
        for name, role in (
            ("Olivia Owner", "Owner"),
            ("Ada Admin", "Admin"),
            ("Vic Viewer", "Viewer"),
        ):
            expect(members.get_by_role("row").filter(has_text=name)).to_contain_text(role)
        expect(vic_page.get_by_label(re.compile("^Role of "))).to_have_count(0)
        expect(vic_page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
        expect(vic_page.get_by_role("button", name="Send invitations")).to_have_count(0)

        # Ada, still an Admin, has the members page open with a control for Vic.
        ada_page.reload()
        expect(ada_page.get_by_label(f"Role of {VIC}")).to_be_visible()
        expect(ada_page.get_by_label(f"Role of {owner.email}")).to_have_count(0)

        # The Owner demotes Ada to Member in place.
        owner_page.reload()
        owner_page.get_by_label(f"Role of {ADA}").select_option(label="Member")
        expect(owner_page.get_by_text(f"{ADA} is now Member.")).to_be_visible()
        assert (
            Membership.objects.get(user__email=ADA, organization=organization).role == Role.MEMBER
        )

        # Ada's very next request is refused, visibly, and her select snaps back.
        ada_page.get_by_label(f"Role of {VIC}").select_option(label="Member")
        expect(
            ada_page.get_by_text("Members can't invite members or change their roles.")
        ).to_be_visible()
        expect(ada_page.get_by_label(f"Role of {VIC}")).to_have_value("viewer")
        assert (
            Membership.objects.get(user__email=VIC, organization=organization).role == Role.VIEWER
        )

        # Reloading shows Ada's new role and no controls.
        ada_page.reload()
        expect(ada_page.get_by_text("Your role: Member")).to_be_visible()
        expect(ada_page.get_by_label(re.compile("^Role of "))).to_have_count(0)
        expect(ada_page.get_by_role("button", name="Send invitations")).to_have_count(0)


def test_owner_removes_a_member_and_last_owner_cannot_leave(page, live_server):
    base = live_server.url
    owner = make_user("olivia@example.test", display_name="Olivia Owner")
    organization = make_organization("Acme AI", owner=owner)
    add_member(organization, Role.VIEWER, make_user(VIC, display_name="Vic Viewer"))
    sign_in(page, base, owner.email, PASSWORD)
    page.goto(f"{base}/o/{organization.slug}/settings/members/")

    # Remove through the confirmation dialog: the row goes, the counter follows.
    page.get_by_role("button", name=f"Remove… {VIC}").click()
    dialog = page.get_by_role("dialog", name="Remove Vic Viewer?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Remove member").click()
    expect(page.get_by_text(f"Removed {VIC} from Acme AI.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=VIC)).to_have_count(0)
    expect(page.get_by_role("heading", name="Members 1", exact=True)).to_be_visible()
    expect(dialog).to_have_count(0)

    # The last Owner trying to leave is told why.
    page.get_by_role("button", name="Leave organization…").click()
    page.get_by_role("dialog", name="Leave Acme AI?").get_by_role(
        "button", name="Leave Acme AI"
    ).click()
    expect(page.get_by_text("An organization needs at least one Owner")).to_be_visible()
    expect(page.get_by_role("dialog", name="Leave Acme AI?")).not_to_be_visible()
    assert Membership.objects.filter(user=owner, organization=organization).exists()
