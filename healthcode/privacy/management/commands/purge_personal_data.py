"""`manage.py purge_personal_data [--dry-run]`: the scheduled purge of personal data older
than the retention policy (HEALTHCODE_RETENTION_DAYS)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from healthcode.privacy.policy import retention_days
from healthcode.privacy.services import purge_personal_data


class Command(BaseCommand):
    help = (
        "Delete personal data older than the retention policy (HEALTHCODE_RETENTION_DAYS: "
        "check-ins, scans, attendance, login codes, expired tokens, job files, messages...) in "
        "batches, and print the rows removed per table. Idempotent. Run it daily, e.g. with "
        "cron: `17 3 * * * cd /srv/healthcode && .venv/bin/python manage.py "
        "purge_personal_data`, or a systemd timer with OnCalendar=*-*-* 03:17:00."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be removed, delete nothing"
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        policy = ", ".join(f"{k}={v}d" for k, v in sorted(retention_days().items()))
        self.stdout.write(f"retention policy: {policy}")
        removed = purge_personal_data(dry_run=dry_run, batch_size=options["batch_size"])
        verb = "would remove" if dry_run else "removed"
        for table, n in removed.items():
            self.stdout.write(f"{verb} {n} from {table}")
        self.stdout.write(f"{verb} {sum(removed.values())} rows in total")
