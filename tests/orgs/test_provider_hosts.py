"""Provider base URL hosts: private, loopback and link-local targets are refused in every
spelling; a public name that does not resolve from here is saved with a visible note."""

import json

import pytest
from django.urls import reverse

from orgs import provider_hosts, selectors
from orgs.config_schema import ConfigInvalid, validate_document

REFUSED_LITERALS = [
    "127.0.0.1",
    "127.0.0.1.",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 (a host to refuse, not one to bind)
    "224.0.0.1",
    "255.255.255.255",
    # inet_aton spellings of 127.0.0.1 and 10.0.0.1
    "127.1",
    "0x7f.1",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "10.1",
    "167772161",
    "１２７.０.０.１",
    # IPv6
    "[::1]",
    "[::]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[ff02::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::127.0.0.1]",
    "[::ffff:0:127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::10.0.0.1]",
    "[64:ff9b:1::a9fe:a9fe]",
    "[2002:7f00:1::]",
    "[2002:a9fe:a9fe::1]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
]
REFUSED_NAMES = [
    "localhost",
    "LOCALHOST.",
    "api.localhost",
    "printer.local",
    "metadata.google.internal",
    "db.internal",
    "router.home.arpa",
    "metadata",
]
ACCEPTED = [
    "8.8.8.8",
    "[2606:4700:4700::1111]",
    "[::ffff:8.8.8.8]",
    "[64:ff9b::808:808]",
    "[2002:808:808::]",
    "api.openai.com",
    "api.prism-test.invalid",
]


def refusal(host: str) -> str | None:
    document = {"providers": [{"name": "x", "type": "openai", "base_url": f"https://{host}/v1"}]}
    try:
        validate_document(document)
    except ConfigInvalid as invalid:
        [error] = invalid.problems
        assert error.path == "providers[0].base_url"
        return error.message
    return None


@pytest.mark.parametrize("host", REFUSED_LITERALS)
def test_private_loopback_and_link_local_addresses_are_refused_in_every_spelling(host):
    assert "private, loopback and link-local addresses are refused" in (refusal(host) or "")


@pytest.mark.parametrize("host", REFUSED_NAMES)
def test_local_host_names_are_refused_without_dns(host):
    assert "is a local host name and is refused" in (refusal(host) or "")


@pytest.mark.parametrize("host", ACCEPTED)
def test_public_addresses_and_names_pass_the_schema(host):
    assert refusal(host) is None


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("134744072", "write the IP address in dotted form (8.8.8.8)"),
        ("1.2.3.4.5", "is not a valid IP address"),
        ("08.0.0.1", "is not a valid IP address"),
        ("256.0.0.1", "is not a valid IP address"),
    ],
)
def test_odd_numeric_hosts_are_refused_with_the_fix(host, problem):
    assert problem in (refusal(host) or "")


def test_the_allow_switch_lets_private_hosts_through(settings):
    settings.PROVIDER_ALLOW_PRIVATE_HOSTS = True
    assert refusal("[64:ff9b::7f00:1]") is None and refusal("vllm.internal") is None


def test_a_name_that_resolves_to_loopback_is_refused_when_it_resolves():
    # /etc/hosts answers for localhost without DNS; the literal check is what refuses it first,
    # so ask the resolver directly.
    assert provider_hosts.resolve("localhost")
    problem = provider_hosts.check_host("https://localhost/v1").problem
    assert "localhost" in problem
    check = provider_hosts.check_host("https://vm/v1")  # in /etc/hosts here, single label
    assert check.problem and check.note is None


def test_a_name_that_does_not_resolve_is_accepted_with_a_note():
    # .invalid never resolves (RFC 6761), so this holds with or without DNS.
    check = provider_hosts.check_host("https://api.prism-test.invalid/v1")
    assert check.problem is None
    assert check.note == (
        "api.prism-test.invalid did not resolve from here; the gateway will check it again "
        "when it connects"
    )


@pytest.mark.parametrize("htmx", [True, False])
def test_an_unresolvable_public_name_saves_and_the_page_shows_the_note(
    client, organization, admin, htmx
):
    client.force_login(admin)
    response = client.post(
        reverse("orgs:provider_save", args=[organization.slug]),
        {
            "name": "compat",
            "type": "openai_compatible",
            "base_url": "https://api.prism-test.invalid/v1",
            "api_key": "",
            "models": "gpt-4o",
            "enabled": "on",
            "weight": "1",
            "timeout_seconds": "60",
            "original_name": "",
            "base_version": 1,
        },
        headers={"HX-Request": "true"} if htmx else {},
        follow=not htmx,
    )
    note = (
        "api.prism-test.invalid did not resolve from here; the gateway will check it again "
        "when it connects"
    )
    provider = selectors.organization_config(organization).provider("compat")
    assert provider.base_url == "https://api.prism-test.invalid/v1"
    if htmx:
        toasts = json.loads(response.headers["HX-Trigger"])["toast"]
        assert note in [toast["message"] for toast in toasts]
    else:
        assert note in response.content.decode()
