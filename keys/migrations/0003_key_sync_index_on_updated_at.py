from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("keys", "0002_inventory_index_on_created_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="virtualkey",
            index=models.Index(fields=["updated_at", "id"], name="key_changed_since"),
        ),
    ]
