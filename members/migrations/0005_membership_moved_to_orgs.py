"""Membership now lives in the orgs app (orgs/0004): drop it from this app's model state only;
the table and its rows stay where they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0004_invitation"),
        ("orgs", "0004_membership"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Membership")],
            database_operations=[],
        ),
    ]
