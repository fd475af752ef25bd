"""The inventory pages on (created_at, id) newest first: the org's indexes follow that order, so
a page reads the org's own keys from its position on, never other orgs' newer keys."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("keys", "0001_virtual_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="virtualkey", name="key_org_newest"),
        migrations.RemoveIndex(model_name="virtualkey", name="key_org_creator_newest"),
        migrations.AddIndex(
            model_name="virtualkey",
            index=models.Index(
                fields=["organization", "-created_at", "-id"], name="key_org_newest"
            ),
        ),
        migrations.AddIndex(
            model_name="virtualkey",
            index=models.Index(
                fields=["organization", "created_by", "-created_at", "-id"],
                name="key_org_creator_newest",
            ),
        ),
    ]
