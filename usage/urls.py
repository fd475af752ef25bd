"""Logs URLs, mounted under /o/<slug>/logs/."""

from django.urls import path

from usage import views

app_name = "logs"

urlpatterns = [
    path("", views.log_list, name="list"),
    path("newer/", views.log_newer, name="newer"),
    path("export.csv", views.log_export, name="export"),
    path("export.ndjson", views.log_export_ndjson, name="export_ndjson"),
    path("<int:log_id>/", views.log_detail, name="detail"),
]
