"""URLs of Settings > Members, mounted under /o/<slug>/settings/members/."""

from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("", views.member_list, name="list"),
    path("<int:membership_id>/role/", views.member_change_role, name="change_role"),
    path("<int:membership_id>/remove/", views.member_remove, name="remove"),
    path("leave/", views.member_leave, name="leave"),
    path("invitations/", views.invitation_create, name="invite"),
    path(
        "invitations/<int:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]
