"""The gateway's service token: `Authorization: Bearer <token>` (or the open-source gateway's
`X-Webhook-Secret`) checked against every token in GATEWAY_TOKENS.

Several tokens may be configured at once so one can be rotated without downtime: add the new
one, move the gateways over, remove the old one. No token configured refuses every call.
"""

import hmac
import logging

from django.conf import settings
from ninja.security import HttpBearer

from prism_site.http import client_ip

logger = logging.getLogger("gateway.auth")

# What a request authenticated by a gateway token carries as `request.auth`.
GATEWAY = "gateway"


def token_valid(presented: str | None) -> bool:
    """Compared with every configured token, each in constant time and none skipped, so the
    time taken says neither which token nor how much of one matched."""
    candidate = (presented or "").encode()
    matched = False
    for token in settings.GATEWAY_TOKENS:
        matched |= hmac.compare_digest(candidate, token.encode())
    return matched and bool(presented)


def bearer_token(request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def log_refused(request, *, credential: str, presented: bool) -> None:
    """Logged loudly (the open-source gateway drops a batch silently on any other 4xx): the
    address and what was wrong, never the token itself."""
    logger.warning(
        "Gateway API refused %s %s from %s: %s",
        request.method,
        request.path,
        client_ip(request),
        f"wrong {credential}" if presented else f"no {credential}",
        extra={"client_ip": client_ip(request)},
    )


def authenticate_bearer(request) -> str | None:
    token = bearer_token(request)
    if token is not None and token_valid(token):
        return GATEWAY
    log_refused(
        request, credential="bearer token", presented=bool(request.headers.get("Authorization"))
    )
    return None


def authenticate_webhook_secret(request) -> str | None:
    secret = request.headers.get("X-Webhook-Secret", "").strip()
    if secret and token_valid(secret):
        return GATEWAY
    log_refused(request, credential="X-Webhook-Secret", presented=bool(secret))
    return None


class GatewayToken(HttpBearer):
    """django-ninja auth for /v1/gateway/: the OpenAPI document shows a bearer scheme."""

    def __call__(self, request):
        # Not HttpBearer's own: in DEBUG it logs the header it refuses, token and all.
        return authenticate_bearer(request)

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return GATEWAY if token_valid(token) else None
