"""URLs of the budget alerts page, under /o/<slug>/alerts/."""

from django.urls import path

from usage import alert_views

app_name = "budget_alerts"

urlpatterns = [path("", alert_views.alert_list, name="list")]
