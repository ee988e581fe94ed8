"""`manage.py verify_audit_chain`: recompute the audit log's hash chain and report the first
broken link. Exit status 0 when intact, 1 when a record was changed, inserted or removed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from healthcode.audit.chain import verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain (tamper evidence). Prints the number of records "
        "checked, or the id of the first broken record and exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain(batch_size=options["batch_size"])
        if not report.ok:
            raise CommandError(
                f"audit chain broken at record {report.broken_id}: {report.problem} "
                f"({report.checked} records before it are intact)",
                returncode=1,
            )
        self.stdout.write(f"audit chain intact: {report.checked} records verified")
