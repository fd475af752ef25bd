"""Account pages: sign up, sign in (throttled), sign out, password management and the personal
access tokens of the admin API."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_post_parameters

from members import selectors, services
from members.forms import (
    AccessTokenForm,
    EmailPasswordResetForm,
    SignupForm,
    ThrottledLoginForm,
)
from members.models import PersonalAccessToken
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


# -- Personal access tokens (the admin API) ------------------------------------------------------


@login_required
def access_tokens(request):
    """The account's API tokens, newest first, and the form to create one; the new secret is
    shown once, in the answer to the create, never cached."""
    form = AccessTokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        issued = services.access_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            expires_at=form.expires_at(now),
            now=now,
        )
        form = AccessTokenForm()
    page = selectors.access_tokens_page(request.user, cursor=request.GET.get("cursor"))
    response = render(
        request,
        "accounts/tokens.html",
        {"form": form, "page": page, "issued": issued, "now": timezone.now()},
        status=400 if request.method == "POST" and issued is None else 200,
    )
    if issued is not None:
        add_never_cache_headers(response)
    return response


@login_required
def access_token_revoke(request, token_id: str):
    """Confirm (GET), then revoke (POST) one of the account's tokens."""
    token = PersonalAccessToken.objects.filter(user=request.user, public_id=token_id[:40]).first()
    if token is None:
        raise Http404("No such token of yours.")
    if request.method == "POST":
        services.access_token_revoke(user=request.user, public_id=token.public_id)
        messages.success(request, f"Revoked {token.name}: it no longer opens the API.")
        return HttpResponseRedirect(reverse("accounts:tokens"))
    return render(request, "accounts/token_revoke.html", {"token": token})
