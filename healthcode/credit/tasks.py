"""Background tasks of the credit app (Django's tasks framework)."""

from __future__ import annotations

from django.tasks import task


@task
def deliver_credit_outbox() -> dict[str, int]:
    """Finalise records whose appeal window has passed and run one delivery round."""
    from healthcode.credit.outbox import deliver_due
    from healthcode.credit.services import finalise_due_records

    finalise_due_records()
    return deliver_due()
