from django.apps import AppConfig
from django.db.models.signals import post_migrate


def partitions_after_migrate(sender, using, **kwargs):
    """The request log's partitions exist ahead from the first `migrate` on (PostgreSQL)."""
    from django.db import connections

    from usage import partitions

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if partitions.PARENT not in connection.introspection.table_names():
        return  # migrated back below usage 0001
    partitions.partitions_ensure()


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage: request logs, rollups and spend"

    def ready(self):
        post_migrate.connect(partitions_after_migrate, sender=self, dispatch_uid="usage-partitions")
