# Attendance partitioned by month of `day` on PostgreSQL (a no-op on SQLite): see
# healthcode/lib/partitions.py.

from django.db import migrations

from healthcode.lib import partitions


def forward(apps, schema_editor):
    partitions.convert_to_partitioned(schema_editor.connection, "enterprises_attendance", "day")


def backward(apps, schema_editor):
    partitions.convert_to_plain(schema_editor.connection, "enterprises_attendance", "day")


class Migration(migrations.Migration):

    dependencies = [
        ('enterprises', '0002_attendance_checkin_without_constraint'),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
