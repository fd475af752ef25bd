"""Organization URLs: /, /orgs/…, /o/<slug>/… (settings pages of other apps mount here too)."""

from django.urls import include, path

from orgs import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/", views.organization_list, name="org_list"),
    path("orgs/new/", views.organization_new, name="org_new"),
    path(
        "o/<slug:slug>/",
        include(
            (
                [
                    path("", views.overview, name="overview"),
                    path("settings/organization/", views.settings_organization, name="settings"),
                    path(
                        "settings/organization/general/",
                        views.organization_rename,
                        name="rename",
                    ),
                    path(
                        "settings/organization/delete/",
                        views.organization_delete,
                        name="delete",
                    ),
                    path("settings/audit/", views.audit_log, name="audit"),
                ],
                "orgs",
            )
        ),
    ),
]
