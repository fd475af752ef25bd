"""URLs of the invitee's side, mounted under /invitations/<token>/."""

from django.urls import path

from members import views

app_name = "invitations"

urlpatterns = [
    path("", views.invitation_detail, name="detail"),
    path("accept/", views.invitation_accept, name="accept"),
    path("signup/", views.invitation_signup, name="signup"),
]
