"""System checks for the provider-secret keys and the private-hosts switch."""

import os

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from orgs import secrets


@register()
def provider_secret_keys_check(app_configs, **kwargs):
    try:
        secrets.configured_keys()
    except ImproperlyConfigured as error:
        return [Error(str(error), id="orgs.E001")]
    if settings.DEBUG and not os.environ.get("PROVIDER_SECRET_KEYS") and not settings.TESTING:
        return [
            Warning(
                "Provider secrets are encrypted with a development key from "
                f"{settings.PROVIDER_SECRET_DEV_KEY_FILE}.",
                hint="Set PROVIDER_SECRET_KEYS outside development; see the README.",
                id="orgs.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def private_provider_hosts_check(app_configs, **kwargs):
    if settings.PROVIDER_ALLOW_PRIVATE_HOSTS:
        return [
            Warning(
                "PROVIDER_ALLOW_PRIVATE_HOSTS is on: org admins can point the gateway at "
                "private, loopback and link-local addresses.",
                hint="Keep it on only for self-hosted models on a trusted network.",
                id="orgs.W002",
            )
        ]
    return []
