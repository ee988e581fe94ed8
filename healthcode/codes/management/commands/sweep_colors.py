"""Apply time-based colour changes that are due (e.g. observation periods that have ended).
Idempotent: run it as often as you like (cron, systemd timer)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from healthcode.codes.services import sweep


class Command(BaseCommand):
    help = "Re-derive the colours of codes whose time-based change is due."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        count = sweep(batch_size=options["batch_size"])
        self.stdout.write(f"re-derived {count} code(s) that were due")
