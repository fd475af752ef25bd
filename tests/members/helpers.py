"""Helpers for the members tests: invite through the real service, read links from emails."""

import email
import email.policy
import re
import socket
import threading

from aiosmtpd.controller import Controller

from members.services import invitations_send
from orgs.models import Membership
from prism_site.actor import Actor

BASE_URL = "http://testserver/"
LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/([A-Za-z0-9_\-]+)/")


def invite(organization, inviter, email: str, role="member"):
    """Invite one address; returns (invitation, raw token)."""
    batch = invitations_send(
        organization=organization,
        emails=[email],
        role=role,
        actor=Actor(inviter),
        base_url=BASE_URL,
    )
    issued = batch.issued[0]
    return issued.invitation, issued.token


def membership_of(user, organization) -> Membership:
    return Membership.objects.get(user=user, organization=organization)


def token_in(message) -> str:
    """The invitation token in an email's plain-text body."""
    match = LINK.search(message.body)
    assert match, f"no invitation link in: {message.body}"
    return match.group(1)


def link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no invitation link in: {text}"
    return match.group(0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LoopbackSMTP:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        self.received.set()
        return "250 Message accepted for delivery"

    def __enter__(self):
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc_info):
        self.controller.stop()

    @property
    def mailers(self) -> dict:
        """A MAILERS setting sending through this server with Django's SMTP backend."""
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 10},
            }
        }


def unreachable_smtp_mailers() -> dict:
    """MAILERS pointing at a loopback port where nothing listens: every send fails at once."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 5},
        }
    }
