"""URL map: accounts, organizations and their settings, the Django admin, health."""

from django.contrib import admin
from django.urls import include, path

from prism_site import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("members.account_urls")),
    path("o/<slug:slug>/settings/members/", include("members.urls")),
    path("invitations/<str:token>/", include("members.invitation_urls")),
    path("o/<slug:slug>/settings/keys/", include("keys.urls")),
    path("", include("orgs.urls")),
]

handler400 = "prism_site.views.bad_request"
handler403 = "prism_site.views.permission_denied"
handler404 = "prism_site.views.page_not_found"
handler500 = "prism_site.views.server_error"
