"""Create the monthly partitions of check-ins, scans and attendance for the months ahead
(PostgreSQL; healthcode.lib.partitions). Idempotent: a systemd timer runs it daily."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from healthcode.lib import partitions


class Command(BaseCommand):
    help = "Create the missing monthly partitions (PostgreSQL) from last month to N months ahead."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=3,
            help="create partitions up to this many months after the current one (default 3)",
        )
        parser.add_argument(
            "--months-back",
            type=int,
            default=1,
            help="and from this many months before it (default 1)",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        ahead, back = options["months_ahead"], options["months_back"]
        if ahead < 0 or back < 0:
            raise CommandError("--months-ahead and --months-back must be 0 or more")
        using = options["database"]
        vendor = connections[using].vendor
        if vendor != "postgresql":
            self.stdout.write(
                f"nothing to do: {vendor} has no partitions (only PostgreSQL partitions "
                "check-ins, scans and attendance by month)"
            )
            return
        tables = [
            t.table for t in partitions.TABLES if partitions.is_partitioned(t.table, using=using)
        ]
        if not tables:
            self.stdout.write("nothing to do: no partitioned tables (run migrate first)")
            return
        created = partitions.ensure_partitions(ahead, back, using=using)
        for entry in created:
            moved = (
                f" ({entry.moved} row(s) moved from the default partition)" if entry.moved else ""
            )
            self.stdout.write(f"created {entry.name}{moved}")
        this_month = partitions.month_of(timezone.localdate())
        first, last = (
            partitions.add_months(this_month, -back),
            partitions.add_months(this_month, ahead),
        )
        self.stdout.write(
            f"{len(created)} partition(s) created; {', '.join(tables)} have monthly partitions "
            f"from {first:%Y-%m} to {last:%Y-%m}"
        )
