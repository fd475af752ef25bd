"""Account pages: sign up, sign in (throttled), sign out and password management."""

from urllib.parse import urlsplit

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.views.decorators.debug import sensitive_post_parameters

from members import services
from members.forms import EmailPasswordResetForm, SignupForm, ThrottledLoginForm
from prism_site.errors import Conflict
from prism_site.http import safe_next_path


@sensitive_post_parameters("password")
def signup(request):
    if request.user.is_authenticated:
        return HttpResponseRedirect(safe_next_path(request) or reverse("home"))
    initial = {"email": request.GET.get("email", "")}
    form = SignupForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.account_create(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
            )
        except Conflict:
            form.add_error("email", SignupForm.EMAIL_TAKEN)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect(safe_next_path(request) or reverse("home"))
    return render(request, "accounts/signup.html", {"form": form, "next": safe_next_path(request)})


class SafeNextMixin:
    """Django's own `next` check lets "abc" through (a relative URL); only a site path may pass."""

    def get_redirect_url(self, request=None):
        request = request or self.request
        target = safe_next_path(request) or ""
        # Back to this very page would bounce a signed-in person between the two forever.
        return "" if urlsplit(target).path == request.path else target


class LoginView(SafeNextMixin, auth_views.LoginView):
    form_class = ThrottledLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(SafeNextMixin, auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    form_class = EmailPasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")
