"""Choices of the credit app: the life of a dishonesty record and of an outbox message."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordStatus(models.TextChoices):
    FLAGGED = "flagged", _("待复核")
    CONFIRMED = "confirmed", _("已确认（申诉期内）")
    FINAL = "final", _("已生效")
    DELIVERED = "delivered", _("已报送")
    REJECTED = "rejected", _("复核未通过")
    WITHDRAWN = "withdrawn", _("已撤销")
    OVERTURNED = "overturned", _("申诉成立已撤销")


class MessageKind(models.TextChoices):
    RECORD = "record", _("失信信息")
    WITHDRAWAL = "withdrawal", _("撤销")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("待推送")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("推送失败")


# The declaration fields a false statement may concern (SPEC §3).
DECLARATION_FIELDS = (
    "name",
    "id_number",
    "phone",
    "address",
    "district",
    "returned_to_work",
    "employer",
    "returned_from_elsewhere",
    "return_region",
    "arrival_date",
    "contact_with_case",
    "contact_date",
    "symptoms",
    "temperature",
)
