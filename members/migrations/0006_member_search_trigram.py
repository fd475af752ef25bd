"""Member search matches any part of an email or name (`icontains`, which PostgreSQL runs as
UPPER(column::text) LIKE UPPER('%…%')): trigram indexes on those expressions let it read the
matching users instead of every user. PostgreSQL only; on SQLite (the embedded default) this does
nothing, and the indexes stay out of the model state so no other database is asked to build them.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# (index name, column): each index is on UPPER(column), the expression `icontains` compares.
INDEXES = [("user_email_trgm", "email"), ("user_name_trgm", "display_name")]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("members", "User")._meta.db_table)
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(name)} ON {table} "
            f"USING gin (UPPER({schema_editor.quote_name(column)}::text) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("members", "0005_membership_moved_to_orgs")]

    operations = [
        TrigramExtension(),  # CREATE EXTENSION pg_trgm; does nothing outside PostgreSQL
        migrations.RunPython(create_indexes, drop_indexes),
    ]
