"""Where a provider base URL's host resolves: refuse private, loopback and link-local targets.

The schema already refuses such IP literals; this resolves host names when a URL is saved.
The gateway must check again when it connects (DNS answers can change after saving).
"""

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

from orgs.config_schema import address_is_private, private_hosts_allowed

RESOLVE_TIMEOUT_SECONDS = 3.0
_resolver_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="provider-host")


def resolve(host: str) -> list[str]:
    """Every address the host resolves to (raises OSError when it does not resolve)."""
    answers = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    return sorted({answer[4][0] for answer in answers})


def host_problem(url: str) -> str | None:
    """Why the gateway must not call `url`, or None when it may."""
    if private_hosts_allowed():
        return None
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
        return None  # an IP literal, already checked by the schema
    except ValueError:
        pass
    try:
        addresses = _resolver_pool.submit(resolve, host).result(timeout=RESOLVE_TIMEOUT_SECONDS)
    except FutureTimeout:
        return f"{host} did not resolve within {RESOLVE_TIMEOUT_SECONDS:g} seconds; try again"
    except (OSError, UnicodeError):
        return f"{host} does not resolve; check the host name"
    for address in addresses:
        if address_is_private(ipaddress.ip_address(address.split("%")[0])):
            return (
                f"{host} resolves to {address}, a private, loopback or link-local address; use "
                "a public host (or ask an operator to set PROVIDER_ALLOW_PRIVATE_HOSTS)"
            )
    if not addresses:
        return f"{host} does not resolve; check the host name"
    return None
