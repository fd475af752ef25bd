"""The budget banner on an org's pages: the current period's alerts, in one query."""

from django import template

from usage.alerts import budget_alert_text, current_budget_alerts

register = template.Library()


@register.inclusion_tag("usage/alerts_banner.html")
def budget_alert_banner(access):
    alerts = current_budget_alerts(access.organization) if access else []
    return {
        "access": access,
        "messages_": [budget_alert_text(alert) for alert in alerts],
    }
