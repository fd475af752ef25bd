from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations"

    def ready(self):
        from orgs import checks  # noqa: F401 - registers the system checks
        from orgs.permissions import role_grants_after_migrate

        # After every migrate, every org's role grants follow orgs/roles.py.
        post_migrate.connect(
            role_grants_after_migrate, sender=self, dispatch_uid="orgs.role_grants_sync"
        )
