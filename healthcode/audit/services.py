"""Writing audit records: the one function every service calls."""

from __future__ import annotations

from typing import Any

from healthcode.audit.models import AuditRecord


def audit(
    *,
    action: str,
    actor: Any = None,
    subject: Any = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditRecord:
    """Append one audit record. `subject` is a model instance (its label and pk are stored).
    The record is linked into the hash chain as it is saved (AuditRecord.save), under a lock
    that serialises appends."""
    subject_type = subject._meta.label_lower if subject is not None else ""
    subject_id = str(subject.pk) if subject is not None else ""
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditRecord.objects.create(
        action=action,
        actor=actor_obj,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail or {},
        ip=ip,
    )
