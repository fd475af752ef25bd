"""The client's address behind a TLS proxy: X-Forwarded-For is read only from trusted proxies."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from members.models import LoginThrottle
from orgs.models import AuditEvent
from prism_site.http import UNKNOWN_ADDRESS, client_ip
from tests.factories import PASSWORD, make_user

PROXY = "10.0.0.2"


def address_of(remote_addr, forwarded_for=None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client_ip(RequestFactory().get("/", **headers))


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert address_of("203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_a_spoofed_forwarded_for_from_an_untrusted_address_is_ignored(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert address_of("203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_via_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert address_of(PROXY, "198.51.100.1") == "198.51.100.1"
    # Whatever the client put in the header itself stays to the left of what the proxy appended.
    assert address_of(PROXY, "192.0.2.66, 198.51.100.1") == "198.51.100.1"


def test_trusted_networks_are_given_as_cidr_and_skipped_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    assert address_of("10.9.8.7", "198.51.100.1, 10.1.1.1, 10.2.2.2") == "198.51.100.1"
    assert address_of("2001:db8::1", "198.51.100.4, 2001:DB8:0:0::7") == "198.51.100.4"
    assert address_of("10.9.8.7", "2002::1, 2001:0db8::5") == "2002::1"


def test_a_chain_of_trusted_proxies_alone_yields_the_farthest_one(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address_of("10.0.0.1", "10.0.0.3, 10.0.0.2") == "10.0.0.3"
    assert address_of("10.0.0.1", "") == "10.0.0.1"


@pytest.mark.parametrize(
    "forwarded_for",
    [
        "garbage",
        "not-an-ip, ",
        "198.51.100.1, <script>",
        "198.51.100.1\x00",
        "999.1.1.1",
        ",,,",
        "x" * 10_000,
        "198.51.100.1:443",
        "fe80::1%eth0",
    ],
)
def test_a_malformed_forwarded_for_is_never_used_as_an_address(settings, forwarded_for):
    settings.TRUSTED_PROXIES = [PROXY]
    # Left of a malformed entry anything may be forged: the hop that handed it over is used.
    assert address_of(PROXY, forwarded_for) == PROXY


def test_a_missing_or_malformed_remote_addr_falls_back_to_a_placeholder(settings):
    settings.TRUSTED_PROXIES = []
    assert address_of("") == UNKNOWN_ADDRESS
    assert address_of("unix-socket") == UNKNOWN_ADDRESS


def sign_in(client, email, password, *, client_address):
    return client.post(
        reverse("accounts:login"),
        {"username": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_address,
    )


def test_two_clients_behind_one_proxy_do_not_lock_each_other(client, db, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.LOGIN_FAILURE_LIMIT = 3
    make_user("shared@example.test")
    for _ in range(3):
        sign_in(client, "shared@example.test", "guess", client_address="198.51.100.66")
    assert LoginThrottle.objects.get().ip_address == "198.51.100.66"
    locked = sign_in(client, "shared@example.test", PASSWORD, client_address="198.51.100.66")
    assert "Too many failed sign-ins" in locked.content.decode()
    other = sign_in(client, "shared@example.test", PASSWORD, client_address="203.0.113.20")
    assert other.status_code == 302


def test_a_client_behind_a_trusted_proxy_cannot_pick_its_throttle_address(client, db, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.LOGIN_FAILURE_LIMIT = 2
    make_user("target@example.test")
    for spoofed in ("192.0.2.1", "192.0.2.2"):
        sign_in(client, "target@example.test", "guess", client_address=f"{spoofed}, 198.51.100.66")
    assert (
        "Too many failed sign-ins"
        in (
            sign_in(client, "target@example.test", PASSWORD, client_address="198.51.100.66")
        ).content.decode()
    )


def test_the_audit_log_records_the_client_behind_the_proxy(client, db, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    client.force_login(make_user("founder@example.test"))
    client.post(
        reverse("org_new"),
        {"name": "Proxied Org"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="192.0.2.9, 198.51.100.23",
    )
    assert AuditEvent.objects.get(action="organization.create").ip_address == "198.51.100.23"


def test_the_audit_log_ignores_a_forwarded_for_from_an_untrusted_address(client, db, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    client.force_login(make_user("founder@example.test"))
    client.post(
        reverse("org_new"),
        {"name": "Direct Org"},
        REMOTE_ADDR="203.0.113.50",
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    assert AuditEvent.objects.get(action="organization.create").ip_address == "203.0.113.50"


def test_a_trusted_proxy_that_is_not_an_address_refuses_to_start():
    from tests.site.test_deployment import PRODUCTION_ENV, _extra_production_env, manage

    env = {**PRODUCTION_ENV, **_extra_production_env(), "TRUSTED_PROXIES": "10.0.0.2,proxy.lan"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'proxy.lan' is not an IP address or CIDR network" in result.stderr
