"""The member list's order stored on each membership (role, then email) with indexes that serve
it, filled for existing rows; the audit log's index follows its (created_at, id) order."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Case, OuterRef, Subquery, Value, When
from django.db.models.functions import Concat

# As `orgs.models.membership_sort_key` places roles when this migration was written.
ROLE_POSITION = {"owner": "1", "admin": "2", "member": "3", "viewer": "4"}


def fill_sort_keys(apps, schema_editor):
    """The same value as `membership_sort_key`, for every row, in one UPDATE."""
    Membership = apps.get_model("orgs", "Membership")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    Membership.objects.using(schema_editor.connection.alias).update(
        sort_key=Concat(
            Case(
                *[
                    When(role=role, then=Value(position))
                    for role, position in ROLE_POSITION.items()
                ],
                output_field=models.CharField(),
            ),
            Value(":"),
            Subquery(User.objects.filter(pk=OuterRef("user_id")).values("email")[:1]),
            output_field=models.CharField(),
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0005_membership_moved_to_orgs"),
        ("orgs", "0005_audit_api_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="sort_key",
            field=models.CharField(default="", editable=False, max_length=256),
            preserve_default=False,
        ),
        migrations.RunPython(fill_sort_keys, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="membership", name="members_mem_organiz_8a261a_idx"),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(
                fields=["organization", "sort_key", "id"], name="membership_org_order"
            ),
        ),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(
                fields=["organization", "role", "sort_key", "id"], name="membership_org_role_order"
            ),
        ),
        migrations.RemoveIndex(model_name="auditevent", name="audit_org_newest"),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["organization", "-created_at", "-id"], name="audit_org_newest"
            ),
        ),
    ]
