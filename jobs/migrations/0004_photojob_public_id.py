"""Every job gets a public id for its QR cards: added empty, filled one by one, then made unique."""

from django.db import migrations, models

import jobs.models


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    PhotoJob = apps.get_model("jobs", "PhotoJob")
    for job in PhotoJob.objects.filter(public_id__isnull=True):
        job.public_id = jobs.models.new_public_id()
        job.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [("jobs", "0003_ftpuser_kind_ftpuser_ftpuser_kind_valid")]

    operations = [
        migrations.AddField(model_name="photojob", name="public_id", field=models.CharField(max_length=16, null=True)),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="photojob",
            name="public_id",
            field=models.CharField(default=jobs.models.new_public_id, editable=False, max_length=16, unique=True),
        ),
    ]
