"""Membership moves here from the members app, beside the tenant it grants access to.

Only Django's model state moves: the table keeps its name (members_membership), its rows, index
and constraint. The content type is renamed too, so permissions and admin history follow it.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def content_type_move(app_label_from, app_label_to):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        ContentType.objects.using(schema_editor.connection.alias).filter(
            app_label=app_label_from, model="membership"
        ).update(app_label=app_label_to)

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0003_role_grants"),
        ("members", "0004_invitation"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Membership",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "role",
                            models.CharField(
                                choices=[
                                    ("owner", "Owner"),
                                    ("admin", "Admin"),
                                    ("member", "Member"),
                                    ("viewer", "Viewer"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_seen_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "organization",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to="orgs.organization",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "members_membership",
                        "indexes": [
                            models.Index(
                                fields=["organization", "role"],
                                name="members_mem_organiz_8a261a_idx",
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("user", "organization"), name="membership_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_type_move("members", "orgs"), content_type_move("orgs", "members")
        ),
    ]
