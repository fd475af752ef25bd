"""The Django admin site: staff sign in through the site's throttled sign-in page."""

from functools import update_wrapper

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from prism_site.http import safe_next_path

NOT_STAFF = (
    "The Django admin is for staff accounts, and yours is not one. "
    "A superuser can make it staff (manage.py createsuperuser makes the first)."
)


class PrismAdminSite(admin.AdminSite):
    """Django's admin with no sign-in form of its own: a second, unthrottled way to try
    passwords would defeat the throttle on the site's sign-in page."""

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)

        def staff_only(request, *args, **kwargs):
            # Django would send a signed-in non-staff person to the admin's sign-in page, and
            # that to the site's, which sends a signed-in person back here: refuse instead.
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied(NOT_STAFF)
            return checked(request, *args, **kwargs)

        return update_wrapper(staff_only, checked)

    @method_decorator([never_cache, login_not_required])
    def login(self, request, extra_context=None):
        target = safe_next_path(request) or reverse("admin:index", current_app=self.name)
        if not request.user.is_authenticated:
            return redirect_to_login(target, settings.LOGIN_URL)
        if not self.has_permission(request):
            raise PermissionDenied(NOT_STAFF)
        return HttpResponseRedirect(target)
