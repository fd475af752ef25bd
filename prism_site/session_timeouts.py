"""Dashboard sessions end after a while without activity and a while after signing in."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

SIGNED_IN_AT = "prism_signed_in_at"
ACTIVE_AT = "prism_active_at"
# Last activity is written to the session at most once a minute: writing it on every request
# would save the session on every page view and every htmx request.
ACTIVITY_RESOLUTION_SECONDS = 60


def session_passive(view):
    """Marks a view whose requests the page makes by itself (a poll), not the person: they do
    not keep the session alive, so a page left following the logs still signs out."""
    view.session_passive = True
    return view


def stamp_sign_in(sender, request, user, **kwargs):
    """On `user_logged_in`: the session's clocks start when the person signs in."""
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[ACTIVE_AT] = now


def expiry_reason(session, now: int) -> str | None:
    """Why this signed-in session has ended, or None while it lasts."""
    hours = settings.SESSION_ABSOLUTE_TIMEOUT_HOURS
    minutes = settings.SESSION_IDLE_TIMEOUT_MINUTES
    if now - session[SIGNED_IN_AT] >= hours * 3600:
        return (
            f"You were signed out: your session reached its {hours}-hour limit. "
            "Sign in again to continue."
        )
    if now - session[ACTIVE_AT] >= minutes * 60:
        return (
            f"You were signed out after {minutes} minutes without activity. "
            "Sign in again to continue."
        )
    return None


class SessionTimeoutMiddleware:
    """Signs a session out past SESSION_IDLE_TIMEOUT_MINUTES without a request or
    SESSION_ABSOLUTE_TIMEOUT_HOURS after signing in, and sends the person to the sign-in page
    saying which; an htmx request gets HX-Redirect so the whole page goes, not a login form
    swapped into a table."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Only a session someone signed into; API calls (bearer credentials, no cookie) never
        # load a session here.
        if SESSION_KEY not in request.session:
            return self.get_response(request)
        session = request.session
        now = int(time.time())
        if SIGNED_IN_AT not in session or ACTIVE_AT not in session:
            # Signed in before these limits were enforced: their clocks start now.
            session[SIGNED_IN_AT] = session.get(SIGNED_IN_AT, now)
            session[ACTIVE_AT] = now
        reason = expiry_reason(session, now)
        if reason is None:
            return self.get_response(request)
        logout(request)
        messages.warning(request, reason)
        return self.to_login(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        session = request.session
        if ACTIVE_AT not in session or getattr(view_func, "session_passive", False):
            return None
        now = int(time.time())
        if now - session[ACTIVE_AT] >= ACTIVITY_RESOLUTION_SECONDS:
            session[ACTIVE_AT] = now
        return None

    @staticmethod
    def to_login(request):
        login_url = resolve_url(settings.LOGIN_URL)
        if getattr(request, "htmx", False):
            # Back to the page the person was on, not to the fragment the request fetched.
            back = request.htmx.current_url_abs_path
            if back:
                return HttpResponseClientRedirect(redirect_to_login(back, login_url).url)
            return HttpResponseClientRedirect(login_url)
        if request.method in ("GET", "HEAD"):
            return redirect_to_login(request.get_full_path(), login_url)
        # A form sent after the limit is not resent after signing in; its action is no page to
        # come back to either.
        return HttpResponseRedirect(login_url)
