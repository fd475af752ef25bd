"""Which provider base URL hosts the gateway may call: no private, loopback or link-local target.

Literal addresses (in every spelling a resolver accepts, and IPv6 forms that embed an IPv4
address) and local names are refused without DNS. Other names are resolved when a URL is saved:
one that resolves to a private address is refused; one that does not resolve from here is
accepted with a note, since the gateway must check again when it connects anyway (DNS answers
change, and a control plane may have no DNS at all).
"""

import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

RESOLVE_TIMEOUT_SECONDS = 3.0
_resolver_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="provider-host")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Names that only ever mean a host on this machine or its network.
LOCAL_NAMES = ("localhost", "localhost.localdomain")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
# inet_aton's spellings of an IPv4 address: 1 to 4 parts, each decimal, octal (0…) or hex (0x…).
NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*")
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
REFUSED_HINT = "(or ask an operator to set PROVIDER_ALLOW_PRIVATE_HOSTS for self-hosted models)"


def private_hosts_allowed() -> bool:
    return bool(getattr(settings, "PROVIDER_ALLOW_PRIVATE_HOSTS", False))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: mapped, compatible, 6to4, Teredo, NAT64."""
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    value = int(address)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 == 0 and value > 1:  # IPv4-compatible ::a.b.c.d (deprecated, still routed)
        found.append(low32)
    if value >> 32 == 0xFFFF0000:  # IPv4-translated ::ffff:0:a.b.c.d
        found.append(low32)
    if any(address in prefix for prefix in NAT64_PREFIXES):
        found.append(low32)
    return found


def address_is_private(address: Address) -> bool:
    """Private, loopback, link-local and every other non-public address a gateway must not reach,
    including IPv6 addresses that carry such an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(address.exploded.split("%")[0])  # drop a zone id
        embedded = embedded_ipv4(address)
        if embedded:
            return any(address_is_private(inner) for inner in embedded)
    return not address.is_global or address.is_multicast


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """`127.1`, `0x7f.1`, `2130706433`, `0177.0.0.1` read as resolvers read them (inet_aton)."""
    if not NUMERIC_HOST.fullmatch(host) or host.count(".") > 3:
        return None
    numbers = []
    for part in host.split("."):
        if part.startswith("0x"):
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                return None
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = last
    for position, number in enumerate(leading):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def canonical_host(host: str) -> str:
    """The host as a resolver sees it: lowercase ASCII (IDNA, which also folds full-width
    digits), without the trailing dot."""
    return host.encode("idna").decode("ascii").lower().rstrip(".")


def literal_problem(host: str) -> str | None:
    """Why `host` (from urlsplit().hostname) is refused without resolving it, or None."""
    try:
        name = canonical_host(host)
    except UnicodeError:
        return "the host name is not valid; use a host such as api.example.com"
    if not name:
        return "must name a host, e.g. https://api.example.com/v1"
    try:
        # An IPv6 zone id (fe80::1%eth0) names an interface, not another address.
        address: Address | None = ipaddress.ip_address(name.split("%")[0] if ":" in name else name)
    except ValueError:
        address = numeric_ipv4(name)
        if address is None and NUMERIC_HOST.fullmatch(name):
            return "is not a valid IP address; write one in dotted form (e.g. 203.0.113.7)"
        if address is not None and not address_is_private(address):
            return f"write the IP address in dotted form ({address}) or use a host name"
    if private_hosts_allowed():
        return None
    if address is not None:
        if address_is_private(address):
            return (
                "private, loopback and link-local addresses are refused; use a public host "
                + REFUSED_HINT
            )
        return None
    if name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES) or "." not in name:
        return f"{name} is a local host name and is refused; use a public host {REFUSED_HINT}"
    return None


def resolve(host: str) -> list[str]:
    """Every address the host resolves to (raises OSError when it does not resolve)."""
    answers = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    return sorted({answer[4][0] for answer in answers})


@dataclass(frozen=True)
class HostCheck:
    """`problem`: why saving is refused. `note`: accepted, but the person should know why."""

    problem: str | None = None
    note: str | None = None


def check_host(url: str) -> HostCheck:
    """Whether the gateway may call `url`'s host, resolving a host name once, briefly."""
    host = urlsplit(url).hostname or ""
    problem = literal_problem(host)
    if problem or private_hosts_allowed():
        return HostCheck(problem=problem)
    name = canonical_host(host)
    if ":" in name or numeric_ipv4(name) is not None:
        return HostCheck()  # a public IP literal
    unresolved = HostCheck(
        note=f"{name} did not resolve from here; the gateway will check it again when it connects"
    )
    try:
        addresses = _resolver_pool.submit(resolve, name).result(timeout=RESOLVE_TIMEOUT_SECONDS)
    except (FutureTimeout, OSError, UnicodeError):
        return unresolved
    for address in addresses:
        if address_is_private(ipaddress.ip_address(address.split("%")[0])):
            return HostCheck(
                problem=f"{name} resolves to {address}, a private, loopback or link-local "
                f"address; use a public host {REFUSED_HINT}"
            )
    return HostCheck() if addresses else unresolved


def host_problem(url: str) -> str | None:
    """Why the gateway must not call `url`, or None when it may (see `check_host`)."""
    return check_host(url).problem
