"""The open-source Prism gateway's endpoints, mounted at /agentcc/ (see gateway/compat.py)."""

from django.urls import path

from gateway import compat

app_name = "agentcc"

urlpatterns = [
    path("org-configs/bulk/", compat.org_configs_bulk, name="org-configs-bulk"),
    path("api-keys/bulk/", compat.api_keys_bulk, name="api-keys-bulk"),
    path("spend-summary/", compat.spend_summary_view, name="spend-summary"),
    path("webhook/logs/", compat.webhook_logs, name="webhook-logs"),
]
