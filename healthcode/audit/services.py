"""Writing audit records: the one function every service calls."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

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


def audit_many(entries: Iterable[Mapping[str, Any]], *, batch_size: int = 1000) -> int:
    """Append several audit records at once, in order, under one chain lock: what a batch
    (the colour sweep, a re-derivation) records for many subjects. Each entry takes audit()'s
    keywords (`action`, `actor`, `subject`, `detail`, `ip`), or `subject_type` and
    `subject_id` in place of a model instance. The records hash exactly as if appended one by
    one, so the chain verifies the same. Returns how many were appended."""
    records = []
    at = timezone.now()
    for entry in entries:
        subject = entry.get("subject")
        actor = entry.get("actor")
        records.append(
            AuditRecord(
                at=at,
                action=entry["action"],
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                subject_type=(
                    subject._meta.label_lower
                    if subject is not None
                    else entry.get("subject_type", "")
                ),
                subject_id=str(subject.pk) if subject is not None else entry.get("subject_id", ""),
                detail=entry.get("detail") or {},
                ip=entry.get("ip"),
            )
        )
    AuditRecord.objects.append_many(records, batch_size=batch_size)
    return len(records)


def link_codes(record: AuditRecord, code_ids: Iterable[int], *, batch_size: int = 5000) -> int:
    """Record which codes an audited view or export showed (in batches: an export may hold a
    million). Returns how many were linked."""
    from healthcode.audit.models import AuditedCode

    linked = 0
    batch: list[AuditedCode] = []
    for code_id in code_ids:
        batch.append(AuditedCode(record=record, code_id=code_id))
        if len(batch) >= batch_size:
            AuditedCode.objects.bulk_create(batch)
            linked += len(batch)
            batch = []
    if batch:
        AuditedCode.objects.bulk_create(batch)
        linked += len(batch)
    return linked
