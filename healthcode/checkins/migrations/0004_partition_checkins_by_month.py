# Check-ins partitioned by month of `day` on PostgreSQL (a no-op on SQLite): see
# healthcode/lib/partitions.py. Needs the foreign keys that referenced check-ins by id gone
# (0003 here and enterprises 0002).

from django.db import migrations

from healthcode.lib import partitions


def forward(apps, schema_editor):
    partitions.convert_to_partitioned(schema_editor.connection, "checkins_checkin", "day")


def backward(apps, schema_editor):
    partitions.convert_to_plain(schema_editor.connection, "checkins_checkin", "day")


class Migration(migrations.Migration):

    dependencies = [
        ('checkins', '0003_checkin_references_without_constraint'),
        ('enterprises', '0002_attendance_checkin_without_constraint'),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
