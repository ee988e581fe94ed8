"""Dishonesty records (失信信息) of false declarations, and the outbox through which they
reach the public credit information platform (南宁市公共信用信息共享平台)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.credit.choices import MessageKind, MessageStatus, RecordStatus

DEFAULT_LEGAL_BASIS = (
    "南宁市新冠肺炎疫情防控工作指挥部通告（2020年2月21日）第三条；"
    "申报人承诺所填信息真实、完整、准确，如有虚假信息将纳入公共信用信息平台。"
)

ID_NUMBER_CONTEXT = "credit.DishonestyRecord.id_number"


class DishonestyRecord(models.Model):
    """A false declaration, flagged by one official and confirmed by another (four eyes).

    flagged → confirmed (the resident may appeal until `appeal_deadline`) → final (window over,
    or an appeal upheld it) → delivered (the platform acknowledged it); or rejected (second
    official said no), withdrawn, overturned (appeal granted). The person's ID number is stored
    encrypted with its own context, beside the blind index shared with health codes.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.ForeignKey(
        "codes.HealthCode", on_delete=models.PROTECT, related_name="dishonesty_records"
    )
    person_name = models.CharField(_("姓名"), max_length=64)
    id_number_encrypted = models.TextField(_("身份证号（加密）"))
    id_number_index = models.CharField(max_length=64, db_index=True)
    id_number_masked = models.CharField(_("身份证号"), max_length=18)

    what_was_false = models.TextField(_("虚假内容"))
    fields = models.JSONField(_("涉及的申报项"), default=list)
    evidence = models.TextField(_("证据"))
    legal_basis = models.TextField(_("依据"), default=DEFAULT_LEGAL_BASIS)

    status = models.CharField(
        max_length=12, choices=RecordStatus.choices, default=RecordStatus.FLAGGED, db_index=True
    )
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    flagged_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    appeal_deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set by the appeals service while an appeal against this record awaits its ruling.
    appeal_pending = models.BooleanField(default=False)
    final_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-flagged_at", "-id"]
        verbose_name = _("失信信息")
        verbose_name_plural = _("失信信息")

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    def id_number(self) -> str:
        from healthcode.lib.crypto import decrypt_field

        return decrypt_field(self.id_number_encrypted, context=ID_NUMBER_CONTEXT)


class CreditOutboxMessage(models.Model):
    """One push to the credit platform: a record or its withdrawal. Messages of one person
    (blind index) carry increasing `sequence` numbers and are delivered strictly in that
    order; `idempotency_key` lets the platform recognise a retry. The payload is stored
    without the ID number, which is decrypted from the record only when sending."""

    record = models.ForeignKey(DishonestyRecord, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    person_index = models.CharField(max_length=64)
    sequence = models.PositiveIntegerField()
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_receipt = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["person_index", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["person_index", "sequence"], name="credit_outbox_sequence_per_person"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.sequence} ({self.status})"
