import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """Organisations become versioned records: settings edited by admins are never silently overwritten."""

    dependencies = [("mtm", "0002_organisation_prescriber_response_days")]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="version",
            field=models.PositiveIntegerField(default=1, editable=False),
        ),
        migrations.AddField(
            model_name="organisation",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="organisation",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
    ]
