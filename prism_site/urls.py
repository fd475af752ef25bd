"""URL map: the JSON API (/v1/), accounts, organizations and their settings, the admin, health."""

from django.contrib import admin
from django.urls import include, path, re_path

from prism_site import views
from prism_site.api import api, unknown_path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before the API's own root view, which answers with a page when its docs are off.
    path("v1/", unknown_path, name="api-home"),
    path("v1/docs", views.api_docs, name="api-docs"),
    path("v1/", api.urls),
    re_path(r"^v1/(?P<rest>.*)$", unknown_path, name="api-unknown-path"),
    # The open-source Prism gateway's protocol, beside the API (not in its OpenAPI document).
    path("agentcc/", include("gateway.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("members.account_urls")),
    path("o/<slug:slug>/settings/members/", include("members.urls")),
    path("invitations/<str:token>/", include("members.invitation_urls")),
    path("o/<slug:slug>/settings/keys/", include("keys.urls")),
    path("o/<slug:slug>/logs/", include("usage.urls")),
    path("o/<slug:slug>/analytics/", include("usage.analytics_urls")),
    path("o/<slug:slug>/alerts/", include("usage.alert_urls")),
    path("", include("orgs.urls")),
]

handler400 = "prism_site.views.bad_request"
handler403 = "prism_site.views.permission_denied"
handler404 = "prism_site.views.page_not_found"
handler500 = "prism_site.views.server_error"
