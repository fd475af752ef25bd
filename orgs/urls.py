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
                    path("settings/organization/billing/", views.billing_update, name="billing"),
                    path(
                        "settings/organization/config/<slug:section>/",
                        views.config_section,
                        name="config_section",
                    ),
                    path(
                        "settings/organization/providers/",
                        views.provider_save,
                        name="provider_save",
                    ),
                    path(
                        "settings/organization/providers/<slug:name>/toggle/",
                        views.provider_toggle,
                        name="provider_toggle",
                    ),
                    path(
                        "settings/organization/providers/<slug:name>/remove/",
                        views.provider_remove,
                        name="provider_remove",
                    ),
                    path(
                        "settings/organization/config.json",
                        views.config_document,
                        name="config_json",
                    ),
                    path(
                        "settings/organization/document/",
                        views.config_document_edit,
                        name="config_document_edit",
                    ),
                    path(
                        "settings/organization/history/",
                        views.config_history,
                        name="config_history",
                    ),
                    path(
                        "settings/organization/history/<int:number>/",
                        views.config_version,
                        name="config_version",
                    ),
                    path(
                        "settings/organization/history/<int:number>/restore/",
                        views.config_restore,
                        name="config_restore",
                    ),
                    path("settings/audit/", views.audit_log, name="audit"),
                    path("settings/audit/export.csv", views.audit_export, name="audit_export"),
                ],
                "orgs",
            )
        ),
    ),
]
