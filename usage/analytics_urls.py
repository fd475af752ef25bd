"""Analytics URLs, mounted under /o/<slug>/analytics/."""

from django.urls import path

from usage import analytics_views

app_name = "analytics"

urlpatterns = [
    path("", analytics_views.analytics_overview, name="overview"),
]
