"""The site's own configuration of Django apps."""

from django.contrib.admin.apps import AdminConfig


class PrismAdminConfig(AdminConfig):
    default_site = "prism_site.admin.PrismAdminSite"

    def ready(self):
        super().ready()
        # The site's own signal receivers: this is the one app config prism_site has.
        from django.contrib.auth.signals import user_logged_in

        from prism_site.session_timeouts import stamp_sign_in

        user_logged_in.connect(stamp_sign_in, dispatch_uid="prism_site.stamp_sign_in")
