"""Settings > API keys URLs, mounted under /o/<slug>/settings/keys/."""

from django.urls import path

from keys import views

app_name = "keys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("new/", views.key_create, name="create"),
    path("<str:key_id>/", views.key_detail, name="detail"),
    path("<str:key_id>/edit/", views.key_update, name="update"),
    path("<str:key_id>/rotate/", views.key_rotate, name="rotate"),
    path("<str:key_id>/revoke/", views.key_revoke, name="revoke"),
]
