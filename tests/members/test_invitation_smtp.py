"""A real SMTP round trip: the worker sends the invitation through Django's SMTP backend to a
loopback server, and the link in the received message is followed and accepted."""

import pytest
from django.urls import reverse

from members.models import Invitation
from orgs.models import Membership
from orgs.roles import Role
from tests.factories import PASSWORD
from tests.members.helpers import LoopbackSMTP, link_in
from tests.members.worker import background_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_invitation_through_a_real_smtp_server_is_accepted(client, settings, owner, organization):
    with LoopbackSMTP() as smtp, background_worker():
        settings.MAILERS = smtp.mailers
        client.force_login(owner)
        response = client.post(
            reverse("members:invite", args=[organization.slug]),
            {"emails": "Ada@Example.test", "role": "admin"},
        )
        assert response.status_code == 302
        assert smtp.received.wait(10), "the SMTP server received nothing"

    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received["To"] == "ada@example.test"
    assert received["Subject"] == "Olivia Owner invited you to Acme AI on Prism"
    assert received.is_multipart()
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    link = link_in(text)
    assert link in html
    assert Invitation.objects.get().sent_at is not None

    # The invitee follows the link and signs up with the fixed address, which accepts.
    client.logout()
    path = link.removeprefix("http://testserver")
    page = client.get(path)
    assert page.status_code == 200
    assert "Admin" in page.content.decode()
    signup = client.get(path + "signup/")
    assert 'value="ada@example.test"' in signup.content.decode()
    response = client.post(
        path + "signup/",
        {"display_name": "Ada", "email": "mallory@example.test", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("orgs:overview", args=[organization.slug])
    membership = Membership.objects.get(organization=organization, user__email="ada@example.test")
    assert membership.role == Role.ADMIN
