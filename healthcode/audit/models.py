"""The audit log: append-only records of declarations, check-ins, colour changes and
every view of unmasked personal data, linked by a hash chain (see `chain.py`)."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.audit.choices import AuditAction


class AppendOnlyError(Exception):
    """Audit records are never changed or deleted through the application."""


class AuditQuerySet(models.QuerySet["AuditRecord"]):
    def update(self, **kwargs: object) -> int:
        # The one change allowed: deleting an account clears the actor link (SET_NULL). The
        # chain covers `actor_ref`, the actor's id as written, so the chain stays intact.
        if kwargs == {"actor": None}:
            return super().update(**kwargs)
        raise AppendOnlyError("audit records are append-only")

    def bulk_create(self, *args: object, **kwargs: object) -> list[AuditRecord]:
        raise AppendOnlyError("audit records are appended through audit() or audit_many()")

    def append_many(
        self, records: list[AuditRecord], *, batch_size: int = 1000
    ) -> list[AuditRecord]:
        """Link new records into the hash chain in list order and insert them, under one chain
        lock for all of them (audit_many). Each record gets exactly the hash it would get if
        saved alone after the one before it, so the chain verifies the same."""
        from django.db import transaction

        from healthcode.audit import chain

        if any(record.pk is not None for record in records):
            raise AppendOnlyError("audit records are append-only")
        if not records:
            return records
        with transaction.atomic(using=self.db):
            chain.lock_chain()
            prev = self.order_by("-id").values_list("hash", flat=True).first() or chain.GENESIS
            for record in records:
                record.link(prev)
                prev = record.hash
            # Inserted in list order, so ids ascend along the chain (verify_chain reads by id).
            return super().bulk_create(records, batch_size=batch_size)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records are append-only")


class AuditRecord(models.Model):
    """Who did what to which subject, when and from where. Never updated, never deleted."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("操作"), max_length=32, choices=AuditAction.choices, db_index=True)
    subject_type = models.CharField(_("对象类型"), max_length=32, blank=True)
    subject_id = models.CharField(_("对象"), max_length=64, blank=True, db_index=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # The actor's id as written; `actor` is cleared when the account is deleted, this is not.
    actor_ref = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.subject_type}:{self.subject_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit records are append-only")
        from django.db import transaction

        from healthcode.audit import chain

        with transaction.atomic():
            chain.lock_chain()
            last = AuditRecord.objects.order_by("-id").values_list("hash", flat=True).first()
            self.link(last or chain.GENESIS)
            super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records are append-only")

    def link(self, prev_hash: str) -> None:
        """Chain this new record to the record before it (the caller holds the chain lock)."""
        from healthcode.audit import chain

        self.actor_ref = self.actor_id
        self.prev_hash = prev_hash
        self.hash = chain.record_hash(
            prev_hash=self.prev_hash,
            at=self.at,
            actor_id=self.actor_ref,
            action=self.action,
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            # Hash what the database will give back (JSON round trip: tuples become lists).
            detail=json.loads(json.dumps(self.detail if self.detail is not None else {})),
            ip=self.ip,
        )


class AuditedCode(models.Model):
    """A health code that an audited view or export showed (a roster page, a roster export):
    how "who viewed my data" finds the records that do not name one code as their subject."""

    record = models.ForeignKey(AuditRecord, on_delete=models.CASCADE, related_name="codes")
    code = models.ForeignKey("codes.HealthCode", on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["code", "record"])]

    def __str__(self) -> str:
        return f"audit {self.record_id} showed code {self.code_id}"
