"""The admin API's rate-limit counters live in an UNLOGGED table on PostgreSQL.

Every admin API call counts itself with one upsert; in a logged table each of those commits
waits for the write-ahead log to reach the disk, which more than doubled the upsert's time and
made concurrent calls of one credential queue behind each other's flushes. A counter of the
current minute is worth no such wait: after a database crash PostgreSQL empties an unlogged
table, and every credential's count simply starts again. Other databases keep the table as is.
"""

from django.db import migrations

TABLE = "orgs_apicallwindow"


def set_unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET UNLOGGED")


def set_logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("orgs", "0007_admin_api_calls_and_idempotency")]

    operations = [migrations.RunPython(set_unlogged, set_logged)]
