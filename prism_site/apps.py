"""The site's own configuration of Django apps."""

from django.contrib.admin.apps import AdminConfig


class PrismAdminConfig(AdminConfig):
    default_site = "prism_site.admin.PrismAdminSite"
