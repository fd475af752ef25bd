"""Budget alerts page: the alerts emailed for an org's and its keys' budgets, newest first."""

from django.shortcuts import render

from orgs.access import OrgAccess, org_view
from orgs.roles import Capability
from prism_site.paging import Keyset
from usage.alerts import budget_alert_text
from usage.models import BudgetAlert

ALERTS_ORDER = Keyset("budget_alerts", ("-created_at", "-id"))
ALERTS_PAGE_SIZE = 50


@org_view(Capability.VIEW_AUDIT)
def alert_list(request, access: OrgAccess):
    alerts = BudgetAlert.objects.filter(organization=access.organization).select_related("key")
    page = ALERTS_ORDER.page(alerts, request.GET.get("cursor"), size=ALERTS_PAGE_SIZE)
    rows = [(alert, budget_alert_text(alert)) for alert in page.rows]
    return render(request, "usage/alerts.html", {"page": page, "rows": rows})
