"""Leave half of each page of codes_healthcode free on PostgreSQL, so that rewriting a code's
decision (each check-in, the sweep, a re-derivation after a rule-set publication) can put the new
row version on the same page and skip every index that did not change (a HOT update).

Measured on 100,000 codes (issue 6): a full-table UPDATE cost 4.4 s of database CPU at the
default fillfactor (100) and 0.37 s at 50; the price is about twice the heap on disk. Applies to
pages written from now on (a VACUUM FULL or pg_repack rewrites existing ones)."""

from django.db import migrations


def set_fillfactor(value: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE codes_healthcode SET (fillfactor = {int(value)})")

    return apply


class Migration(migrations.Migration):
    dependencies = [("codes", "0003_roster_indexes")]

    operations = [migrations.RunPython(set_fillfactor(50), set_fillfactor(100), elidable=False)]
