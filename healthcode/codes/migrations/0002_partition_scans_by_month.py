# Scans partitioned by month of `at` (Asia/Shanghai months) on PostgreSQL (a no-op on SQLite):
# see healthcode/lib/partitions.py.

from django.db import migrations

from healthcode.lib import partitions


def forward(apps, schema_editor):
    partitions.convert_to_partitioned(schema_editor.connection, "codes_scan", "at")


def backward(apps, schema_editor):
    partitions.convert_to_plain(schema_editor.connection, "codes_scan", "at")


class Migration(migrations.Migration):

    dependencies = [
        ('codes', '0001_initial'),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
