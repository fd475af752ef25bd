"""The full secret appears in exactly one response (create or rotate), and nowhere else: not in
any other response, not in any column of any table, not in the logs."""

import logging

from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse

from keys.models import VirtualKey
from keys.secrets import SECRET_PREFIX, hash_secret

HTMX = {"HX-Request": "true"}


class RecordingClient:
    """Wraps the test client and keeps every response (body and headers) it receives."""

    def __init__(self, client):
        self.client = client
        self.responses = []

    def _keep(self, response):
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        cookies = "\n".join(str(morsel) for morsel in response.cookies.values())
        self.responses.append(f"{headers}\n{cookies}\n\n{response.content.decode()}")
        return response

    def get(self, *args, **kwargs):
        return self._keep(self.client.get(*args, **kwargs))

    def post(self, *args, **kwargs):
        return self._keep(self.client.post(*args, **kwargs))

    def containing(self, secret: str) -> int:
        return sum(1 for text in self.responses if secret in text)


def extract_secret(response) -> str:
    page = response.content.decode()
    return page.split('id="new-key-secret"')[1].split('value="')[1].split('"')[0]


def database_dump() -> str:
    """Every row of every table as text, with session payloads decoded."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows += [repr(row) for row in cursor.fetchall()]
    rows += [repr(session.get_decoded()) for session in Session.objects.all()]
    return "\n".join(rows)


def test_secrets_appear_once_and_are_never_stored_or_logged(
    client, organization, owner, member, caplog
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    # Log every SQL statement with its parameters, so the logs see what the database sees.
    connection.force_debug_cursor = True
    try:
        browser = RecordingClient(client)
        client.force_login(member)
        slug = organization.slug
        inventory = reverse("keys:list", kwargs={"slug": slug})

        browser.get(inventory)
        browser.get(reverse("keys:create", kwargs={"slug": slug}), headers=HTMX)
        browser.post(
            reverse("keys:create", kwargs={"slug": slug}),
            {"name": "", "scopes": ["gateway"]},
            headers=HTMX,
        )
        created = browser.post(
            reverse("keys:create", kwargs={"slug": slug}),
            {"name": "checkout", "scopes": ["gateway"], "metadata": "team=payments"},
            headers=HTMX,
        )
        first_secret = extract_secret(created)
        key = VirtualKey.objects.get(name="checkout")
        detail = reverse("keys:detail", kwargs={"slug": slug, "key_id": key.public_id})
        rotate = reverse("keys:rotate", kwargs={"slug": slug, "key_id": key.public_id})
        browser.get(inventory)
        browser.get(detail)
        browser.get(rotate)
        rotated = browser.post(rotate, {"grace": "1h"})  # without htmx: the full page
        second_secret = extract_secret(rotated)
        browser.get(inventory)
        browser.get(detail)
        owner.is_staff = owner.is_superuser = True
        owner.save()
        client.force_login(owner)
        browser.get(f"{detail}?edit=1", headers=HTMX)
        browser.post(
            reverse("keys:update", kwargs={"slug": slug, "key_id": key.public_id}),
            {"name": "checkout-2", "scopes": ["gateway"], "rate_limit_rpm": "10"},
            headers=HTMX,
        )
        browser.post(
            reverse("keys:revoke", kwargs={"slug": slug, "key_id": key.public_id}),
            {"next": inventory},
        )
        browser.get(inventory)
        browser.get(reverse("orgs:audit", kwargs={"slug": slug}))
        assert browser.get(f"/admin/keys/virtualkey/{key.pk}/change/").status_code == 200
    finally:
        connection.force_debug_cursor = False

    assert first_secret != second_secret
    for secret, response in ((first_secret, created), (second_secret, rotated)):
        assert secret.startswith(SECRET_PREFIX)
        assert browser.containing(secret) == 1
        assert secret in response.content.decode()
        # Not even the random middle of it, in any form.
        middle = secret[len(SECRET_PREFIX) + 4 : -4]
        assert sum(1 for text in browser.responses if middle in text) == 1

        dump = database_dump()
        assert secret not in dump and middle not in dump
        assert hash_secret(secret) in dump  # the dump really holds the keys' rows

        assert secret not in caplog.text and middle not in caplog.text
    # The SQL log was captured (so the check above looked at real statements).
    assert hash_secret(second_secret) in caplog.text
