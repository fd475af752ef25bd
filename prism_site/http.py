"""HTTP helpers shared by every app: the client's address behind a TLS proxy, safe `next` paths."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme

# Stored when the connection has no usable address (a Unix socket); never bound to.
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104
MAX_NEXT_LENGTH = 2000


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # A zone ("fe80::1%eth0") names an interface of the sender; PostgreSQL's inet refuses it.
    return None if getattr(address, "scope_id", None) else address


def client_ip(request) -> str:
    """The address that sent the request, as the first proxy we trust saw it.

    X-Forwarded-For is written by the client as much as by proxies, so it is read only when the
    connection comes from a proxy in TRUSTED_PROXIES, and then from the right: each trusted
    proxy appended the address it received from, and the first address that is not a trusted
    proxy is the client. A malformed entry ends the walk, because everything left of it may be
    forged; the hop that handed it over is used instead.
    """
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return UNKNOWN_ADDRESS
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))

    def is_trusted(address) -> bool:
        return any(address in network for network in trusted)

    hop = remote
    if is_trusted(hop):
        for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            if not entry.strip():
                continue
            forwarded = _address(entry)
            if forwarded is None:
                break
            hop = forwarded
            if not is_trusted(hop):
                break
    return str(hop)


def safe_next_path(request, field: str = "next") -> str | None:
    """The `next` parameter (POST, then GET) when it is a path on this site, else None.

    Only a path is followed: "abc" would be taken for a URL name by `redirect()` or resolve
    relative to the current page, and "//host" and "/\\host" leave the site. Redirect to it
    with `HttpResponseRedirect`, never `redirect()`, so it is never looked up as a view name.
    """
    target = request.POST.get(field) or request.GET.get(field) or ""
    if not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    # Control characters and line separators break a Location header and mean nothing in a
    # URL; no page of ours has a path this long.
    if not target.isprintable() or len(target) > MAX_NEXT_LENGTH:
        return None
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    return target
