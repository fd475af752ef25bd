from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """The gateway's API (service token, cross-tenant); no models of its own."""

    name = "gateway"
    verbose_name = "Gateway API"
