"""Invitation tokens never reach the logs: refused pages, CSRF failures, runserver lines."""

import logging

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client
from django.urls import reverse

from members.services import invitation_revoke
from prism_site.actor import Actor
from prism_site.log_filters import hide_invitation_tokens
from tests.members.helpers import invite


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def captured():
    """What the django.request and django.server loggers pass on, after their filters."""
    capture = Capture()
    loggers = [logging.getLogger(name) for name in ("django.request", "django.server")]
    for logger in loggers:
        logger.addHandler(capture)
    yield capture.lines
    for logger in loggers:
        logger.removeHandler(capture)


def test_a_refused_accept_logs_the_path_without_the_token(
    client, organization, owner, member, caplog, captured
):
    _, token = invite(organization, owner, "ada@example.test")
    client.force_login(member)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(reverse("invitations:accept", kwargs={"token": token}))
    assert response.status_code == 403
    assert captured == ["Forbidden: /invitations/…/accept/"]
    assert "Forbidden: /invitations/…/accept/" in caplog.text
    assert token not in caplog.text


def test_a_revoked_link_logs_gone_without_the_token(client, organization, owner, captured):
    invitation, token = invite(organization, owner, "ada@example.test")
    invitation_revoke(organization=organization, invitation_id=invitation.pk, actor=Actor(owner))
    response = client.get(reverse("invitations:detail", kwargs={"token": token}))
    assert response.status_code == 410
    assert captured == ["Gone: /invitations/…/"]


def test_a_csrf_failure_on_the_accept_page_logs_no_token(organization, owner, member, caplog):
    _, token = invite(organization, owner, "ada@example.test")
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        response = client.post(reverse("invitations:accept", kwargs={"token": token}))
    assert response.status_code == 403
    assert "/invitations/…/accept/" in caplog.text
    assert token not in caplog.text


def test_runserver_request_lines_hide_the_token(captured):
    token = "q1Zr-8_Xy" * 5
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.request = None
    handler.requestline = f"GET /invitations/{token}/ HTTP/1.1"
    handler.log_request(200, 1234)
    handler.requestline = f"GET /accounts/login/?next=%2Finvitations%2F{token}%2Faccept%2F HTTP/1.1"
    handler.log_request(302, 0)
    assert captured == [
        '"GET /invitations/…/ HTTP/1.1" 200 1234',
        '"GET /accounts/login/?next=%2Finvitations%2F…%2Faccept%2F HTTP/1.1" 302 0',
    ]


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("/invitations/abc-DEF_123/signup/", "/invitations/…/signup/"),
        ("/login/?next=/invitations/abc/accept/", "/login/?next=/invitations/…/accept/"),
        # Settings > Members addresses invitations by id: those stay readable.
        ("/o/acme/settings/members/invitations/12/resend/", None),
        ("POST /o/acme/settings/members/invitations/ HTTP/1.1", None),
    ],
)
def test_what_counts_as_a_token(text, hidden):
    assert hide_invitation_tokens(text) == (hidden or text)
