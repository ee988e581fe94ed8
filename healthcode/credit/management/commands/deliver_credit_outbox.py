"""`manage.py deliver_credit_outbox`: finalise records whose appeal window has passed and run
one delivery round of the credit outbox (for cron or a systemd timer)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from healthcode.credit.outbox import deliver_due
from healthcode.credit.services import finalise_due_records


class Command(BaseCommand):
    help = "Finalise due dishonesty records and deliver the credit outbox once."

    def handle(self, *args: Any, **options: Any) -> None:
        finalised = finalise_due_records()
        counts = deliver_due()
        self.stdout.write(
            f"finalised={finalised} delivered={counts['delivered']} "
            f"failed_attempts={counts['failed_attempts']}"
        )
