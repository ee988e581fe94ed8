"""`manage.py export_credit_records --format jsonl|csv [--since YYYY-MM-DD] [--output FILE]`:
the credit outbox (records and withdrawals, each exactly the body pushed to the platform) for
a manual hand-over. Audited; writes to stdout unless --output is given."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.credit.models import CreditOutboxMessage
from healthcode.credit.outbox import body_of

CSV_COLUMNS = [
    "idempotency_key",
    "type",
    "sequence",
    "record_id",
    "name",
    "id_number",
    "what_was_false",
    "fields",
    "evidence",
    "legal_basis",
    "confirmed_at",
    "appeal_deadline",
    "final_at",
    "withdrawn_at",
    "reason",
    "delivery_status",
]


class Command(BaseCommand):
    help = "Export dishonesty records and withdrawals for manual hand-over."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument("--since", help="only messages created on or after this date")
        parser.add_argument("--output", help="a file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        messages = CreditOutboxMessage.objects.select_related("record").order_by(
            "person_index",
            "sequence",  # the platform must apply a person's messages in order
        )
        if options["since"]:
            try:
                since = date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError("--since must be a date, YYYY-MM-DD") from None
            start = timezone.make_aware(datetime.combine(since, time.min))
            messages = messages.filter(created_at__gte=start)
        out = (
            open(options["output"], "w", encoding="utf-8", newline="")  # noqa: SIM115
            if options["output"]
            else self.stdout
        )
        count = 0
        try:
            writer = (
                csv.DictWriter(out, fieldnames=CSV_COLUMNS) if options["format"] == "csv" else None
            )
            if writer:
                writer.writeheader()
            for message in messages.iterator():
                body = json.loads(body_of(message))
                if writer:
                    writer.writerow(_row(body, message))
                else:
                    out.write(json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        finally:
            if out is not self.stdout:
                out.close()
        audit(
            action=AuditAction.CREDIT_EXPORT,
            detail={"format": options["format"], "since": options["since"], "count": count},
        )
        self.stderr.write(f"exported {count} messages")


def _row(body: dict[str, Any], message: CreditOutboxMessage) -> dict[str, Any]:
    decision = body.get("decision", {})
    return {
        "idempotency_key": body["idempotency_key"],
        "type": body["type"],
        "sequence": body["sequence"],
        "record_id": body["record_id"],
        "name": body["person"]["name"],
        "id_number": body["person"]["id_number"],
        "what_was_false": body.get("what_was_false", ""),
        "fields": ",".join(body.get("fields", [])),
        "evidence": body.get("evidence", ""),
        "legal_basis": body.get("legal_basis", ""),
        "confirmed_at": decision.get("confirmed_at") or "",
        "appeal_deadline": decision.get("appeal_deadline") or "",
        "final_at": decision.get("final_at") or "",
        "withdrawn_at": body.get("withdrawn_at") or "",
        "reason": body.get("reason", ""),
        "delivery_status": message.status,
    }
