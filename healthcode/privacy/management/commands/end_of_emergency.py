"""`manage.py end_of_emergency --confirm`: delete or anonymise all personal data once the
emergency is over, and write a deletion report."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from healthcode.privacy.services import end_of_emergency


class Command(BaseCommand):
    help = (
        "End of the emergency: delete health codes, check-ins, scans, attendance, employees, "
        "appeals, messages, dishonesty records, resident and enterprise-manager accounts, "
        "login codes, tokens and sessions; anonymise enterprise contacts; keep back-office "
        "accounts, enterprises (name, credit code), daily report figures and the audit log. "
        "Writes a JSON deletion report under var/privacy/ and prints it. Irreversible: "
        "requires --confirm."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--confirm", action="store_true", help="really delete everything")
        parser.add_argument(
            "--operator", default="", help="who runs it, for the report (default: OS user)"
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["confirm"]:
            raise CommandError("this deletes all personal data irreversibly: pass --confirm")
        report = end_of_emergency(operator=options["operator"], batch_size=options["batch_size"])
        for table, n in report["removed"].items():
            self.stdout.write(f"removed {n} from {table}")
        self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        self.stdout.write(f"deletion report written to {report['file']}")
