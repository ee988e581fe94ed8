"""Dishonesty records (失信信息) and their delivery to the public credit information platform.

Each state change is one keyword-only function that validates, writes and audits:

- `flag_false_declaration`: a reviewer (or district/city admin) with the code in scope flags a
  declaration as false, with evidence;
- `confirm_record`: a second official confirms or rejects it (four eyes); on confirmation the
  appeal window opens and the resident is notified;
- `mark_appeal_filed` / `record_appeal_ruling`: for the appeals service;
- `finalise_due_records`: window over, no open appeal → final → an outbox message;
- `withdraw_record`: withdrawn; a withdrawal message when the platform has (or will have) it;
- `retry_message`: an admin sends a failed message again.

Delivery (`deliver_due`) lives in healthcode.credit.outbox.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import codes_in_scope, codes_visible_to, is_city_admin
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.codes.models import HealthCode
from healthcode.codes.reviews import require_reviewer
from healthcode.codes.services import ID_NUMBER_CONTEXT as CODE_ID_CONTEXT
from healthcode.credit.choices import (
    DECLARATION_FIELDS,
    MessageKind,
    MessageStatus,
    RecordStatus,
)
from healthcode.credit.models import (
    DEFAULT_LEGAL_BASIS,
    ID_NUMBER_CONTEXT,
    CreditOutboxMessage,
    DishonestyRecord,
)
from healthcode.lib.crypto import decrypt_field, encrypt_field
from healthcode.lib.errors import ApiError

log = logging.getLogger(__name__)

ISSUER = "南宁市新冠肺炎疫情防控工作指挥部"


def appeal_days() -> int:
    return int(getattr(settings, "HEALTHCODE_CREDIT_APPEAL_DAYS", 15))


# --- Scopes (built on the permissions module's querysets) ---------------------------------------


def records_in_scope(user: Any) -> QuerySet[DishonestyRecord]:
    """Records of the codes an authority may see (codes_in_scope)."""
    return DishonestyRecord.objects.filter(code__in=codes_in_scope(user))


def record_in_scope(user: Any, public_id: object) -> DishonestyRecord:
    """One record in the official's scope, or 404."""
    import uuid

    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("no such record") from None
    return get_object_or_404(records_in_scope(user).select_related("code"), public_id=public_id)


def records_of_holder(user: Any) -> QuerySet[DishonestyRecord]:
    """The records of the codes an account holds (its own and its family members')."""
    return DishonestyRecord.objects.filter(code__in=codes_visible_to(user))


def messages_in_scope(user: Any) -> QuerySet[CreditOutboxMessage]:
    """Outbox messages an official may follow: all for a city admin, else those of records in
    scope."""
    if is_city_admin(user):
        return CreditOutboxMessage.objects.all()
    return CreditOutboxMessage.objects.filter(record__in=records_in_scope(user))


# --- Validation ---------------------------------------------------------------------------------


def _clean_text(value: Any, field: str, message: str, limit: int = 2000) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError({field: [message]})
    if len(text) > limit:
        raise ValidationError({field: [_("内容不能超过 %(limit)d 个字。") % {"limit": limit}]})
    return text


def _clean_fields(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValidationError({"fields": [_("请至少选择一项与虚假内容有关的申报项。")]})
    unknown = [v for v in value if v not in DECLARATION_FIELDS]
    if unknown:
        raise ValidationError(
            {"fields": [_("申报项不存在：%(names)s。") % {"names": "、".join(map(str, unknown))}]}
        )
    return sorted(set(value), key=DECLARATION_FIELDS.index)


def _lock(record: DishonestyRecord) -> DishonestyRecord:
    return DishonestyRecord.objects.select_for_update().select_related("code").get(pk=record.pk)


# --- State changes ------------------------------------------------------------------------------


@transaction.atomic
def flag_false_declaration(
    *,
    reviewer: Any,
    code: HealthCode,
    what: str,
    fields: list[str],
    evidence: str,
    legal_basis: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> DishonestyRecord:
    """Flag a code's declaration as false (the first of four eyes). Only reviewers, district
    and city admins (403 otherwise); the code must be in the official's scope (404)."""
    require_reviewer(reviewer)
    if not codes_in_scope(reviewer).filter(pk=code.pk).exists():
        raise Http404("no such code")
    if code.account_id == getattr(reviewer, "pk", None):
        raise ApiError(403, "own_code", _("不能标记自己账号下的健康码。"))
    now = now or timezone.now()
    what = _clean_text(what, "what", _("请说明申报中哪些内容不实。"))
    fields = _clean_fields(fields)
    evidence = _clean_text(evidence, "evidence", _("请提供虚假申报的证据。"))
    legal_basis = legal_basis.strip() if isinstance(legal_basis, str) else ""
    id_number = decrypt_field(code.id_number_encrypted, context=CODE_ID_CONTEXT)
    record = DishonestyRecord.objects.create(
        code=code,
        person_name=code.name,
        id_number_encrypted=encrypt_field(id_number, context=ID_NUMBER_CONTEXT),
        id_number_index=code.id_number_index,
        id_number_masked=code.id_number_masked,
        what_was_false=what,
        fields=fields,
        evidence=evidence,
        legal_basis=legal_basis or DEFAULT_LEGAL_BASIS,
        flagged_by=reviewer,
        flagged_at=now,
    )
    audit(
        action=AuditAction.CREDIT_FLAG,
        actor=reviewer,
        subject=record,
        ip=ip,
        detail={"code": str(code.public_id), "fields": fields},
    )
    return record


def _not_in(record: DishonestyRecord, statuses: tuple[str, ...], message: str) -> None:
    if record.status not in statuses:
        raise ApiError(409, "wrong_status", message)


@transaction.atomic
def confirm_record(
    *,
    approver: Any,
    record: DishonestyRecord,
    approve: bool,
    ip: str | None = None,
    now: datetime | None = None,
) -> DishonestyRecord:
    """The second official's decision (four eyes: never the one who flagged, 403 four_eyes).
    Confirmation opens the appeal window (HEALTHCODE_CREDIT_APPEAL_DAYS) and notifies the
    resident; a rejection closes the record."""
    require_reviewer(approver)
    now = now or timezone.now()
    record = _lock(record)
    if not codes_in_scope(approver).filter(pk=record.code_id).exists():
        raise Http404("no such record")
    _not_in(record, (RecordStatus.FLAGGED,), _("该失信信息已复核，不能重复复核。"))
    if record.flagged_by_id == getattr(approver, "pk", None):
        raise ApiError(
            403, "four_eyes", _("失信信息须由标记人以外的另一名工作人员复核确认（双人复核）。")
        )
    record.confirmed_by = approver
    record.confirmed_at = now
    if approve:
        record.status = RecordStatus.CONFIRMED
        record.appeal_deadline = now + timedelta(days=appeal_days())
    else:
        record.status = RecordStatus.REJECTED
    record.save(update_fields=["confirmed_by", "confirmed_at", "status", "appeal_deadline"])
    audit(
        action=AuditAction.CREDIT_CONFIRM,
        actor=approver,
        subject=record,
        ip=ip,
        detail={"approve": bool(approve), "flagged_by": record.flagged_by_id},
    )
    if approve:
        _notify_resident(record)
    return record


def _notify_resident(record: DishonestyRecord) -> None:
    """Tell the code's holder, through the notifications app when it is installed."""
    try:
        from healthcode.notifications.services import notify  # type: ignore[attr-defined]
    except ImportError:
        log.info("notifications not available; record %s not notified", record.public_id)
        return
    deadline = timezone.localtime(record.appeal_deadline).strftime("%Y-%m-%d %H:%M")
    notify(
        user=record.code.account,
        kind="dishonesty_record",
        title_zh="您的申报被认定为虚假申报",
        body_zh=(
            f"经两名工作人员复核，{record.person_name}的健康申报被认定存在虚假内容："
            f"{record.what_was_false}。如有异议，请于 {deadline} 前提出申诉；"
            "逾期未申诉的，该信息将报送南宁市公共信用信息共享平台。"
        ),
        title_en="Your declaration was found to be false",
        body_en=(
            f"Two officials found false statements in the declaration of {record.person_name}. "
            f"You may appeal until {deadline}; after that the record goes to the public "
            "credit information platform."
        ),
        code=record.code,
    )


@transaction.atomic
def mark_appeal_filed(*, record: DishonestyRecord, actor: Any = None) -> DishonestyRecord:
    """For the appeals service: an appeal against a confirmed record was filed within the
    window, so the record does not become final until the ruling."""
    record = _lock(record)
    _not_in(record, (RecordStatus.CONFIRMED,), _("只能对申诉期内的失信信息提出申诉。"))
    now = timezone.now()
    if record.appeal_deadline and record.appeal_deadline < now:
        raise ApiError(409, "appeal_window_closed", _("申诉期已过，不能再提出申诉。"))
    record.appeal_pending = True
    record.save(update_fields=["appeal_pending"])
    audit(action=AuditAction.CREDIT_APPEAL, actor=actor, subject=record)
    return record


@transaction.atomic
def record_appeal_ruling(
    *, record: DishonestyRecord, upheld: bool, actor: Any = None, now: datetime | None = None
) -> DishonestyRecord:
    """For the appeals service: the ruling on an appeal against a record. Upheld → final and
    queued for the platform; overturned → overturned, and a withdrawal if the platform has
    (or is about to get) the record."""
    now = now or timezone.now()
    record = _lock(record)
    _not_in(
        record,
        (RecordStatus.CONFIRMED, RecordStatus.FINAL, RecordStatus.DELIVERED),
        _("该失信信息不在可裁决的状态。"),
    )
    record.appeal_pending = False
    if upheld:
        if record.status == RecordStatus.CONFIRMED:
            _make_final(record, now)
        else:
            record.save(update_fields=["appeal_pending"])
    else:
        record.status = RecordStatus.OVERTURNED
        record.withdrawn_at = now
        record.withdrawal_reason = _("申诉成立。")
        record.save(update_fields=["appeal_pending", "status", "withdrawn_at", "withdrawal_reason"])
        _enqueue_withdrawal_if_sent(record, now)
    audit(
        action=AuditAction.CREDIT_APPEAL_RULING,
        actor=actor,
        subject=record,
        detail={"upheld": bool(upheld)},
    )
    return record


def finalise_due_records(now: datetime | None = None) -> int:
    """Confirmed records whose appeal window has passed with no open appeal become final and
    are queued for the platform. Returns how many."""
    now = now or timezone.now()
    due = DishonestyRecord.objects.filter(
        status=RecordStatus.CONFIRMED, appeal_deadline__lte=now, appeal_pending=False
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(due):
        with transaction.atomic():
            record = DishonestyRecord.objects.select_for_update().select_related("code").get(pk=pk)
            if record.status != RecordStatus.CONFIRMED or record.appeal_pending:
                continue  # changed meanwhile
            _make_final(record, now)
            audit(action=AuditAction.CREDIT_FINAL, subject=record)
            count += 1
    return count


@transaction.atomic
def withdraw_record(
    *,
    actor: Any,
    record: DishonestyRecord,
    reason: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> DishonestyRecord:
    """Withdraw a record (e.g. the evidence proved wrong). If it was queued for or delivered to
    the platform, a withdrawal message follows it."""
    require_reviewer(actor)
    now = now or timezone.now()
    record = _lock(record)
    if not codes_in_scope(actor).filter(pk=record.code_id).exists():
        raise Http404("no such record")
    _not_in(
        record,
        (RecordStatus.FLAGGED, RecordStatus.CONFIRMED, RecordStatus.FINAL, RecordStatus.DELIVERED),
        _("该失信信息已撤销或未通过复核，不能再撤销。"),
    )
    reason = _clean_text(reason, "reason", _("请说明撤销的理由。"))
    record.status = RecordStatus.WITHDRAWN
    record.withdrawn_at = now
    record.withdrawal_reason = reason
    record.save(update_fields=["status", "withdrawn_at", "withdrawal_reason"])
    message = _enqueue_withdrawal_if_sent(record, now)
    audit(
        action=AuditAction.CREDIT_WITHDRAW,
        actor=actor,
        subject=record,
        ip=ip,
        detail={"reason": reason, "withdrawal_message": message.pk if message else None},
    )
    return record


@transaction.atomic
def retry_message(
    *, actor: Any, message: CreditOutboxMessage, ip: str | None = None
) -> CreditOutboxMessage:
    """Send a failed message again (attempts start over). City admins only."""
    if not is_city_admin(actor):
        raise ApiError(403, "not_city_admin", _("仅市级管理员可以重新推送失信信息。"))
    message = CreditOutboxMessage.objects.select_for_update().get(pk=message.pk)
    _not_in_message(message)
    message.status = MessageStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = timezone.now()
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    audit(action=AuditAction.CREDIT_RETRY, actor=actor, subject=message, ip=ip)
    _schedule_delivery()
    return message


def _not_in_message(message: CreditOutboxMessage) -> None:
    if message.status != MessageStatus.FAILED:
        raise ApiError(409, "wrong_status", _("只能重新推送推送失败的消息。"))


# --- The outbox ---------------------------------------------------------------------------------


def _make_final(record: DishonestyRecord, now: datetime) -> None:
    record.status = RecordStatus.FINAL
    record.final_at = now
    record.save(update_fields=["status", "final_at", "appeal_pending"])
    _enqueue(record, MessageKind.RECORD, now)


def _enqueue_withdrawal_if_sent(
    record: DishonestyRecord, now: datetime
) -> CreditOutboxMessage | None:
    """A withdrawal follows a record message that was queued (it will be delivered first)."""
    if not record.messages.filter(kind=MessageKind.RECORD).exists():
        return None
    return _enqueue(record, MessageKind.WITHDRAWAL, now)


def _enqueue(record: DishonestyRecord, kind: str, now: datetime) -> CreditOutboxMessage:
    """Queue one message with the next sequence number of this person. The person's health
    code row is locked first, so two writers cannot take the same number."""
    HealthCode.objects.select_for_update().filter(pk=record.code_id).first()
    last = CreditOutboxMessage.objects.filter(person_index=record.id_number_index).aggregate(
        n=Max("sequence")
    )["n"]
    message = CreditOutboxMessage(
        record=record,
        kind=kind,
        person_index=record.id_number_index,
        sequence=(last or 0) + 1,
        next_attempt_at=now,
        created_at=now,
    )
    message.payload = build_payload(record, message)
    message.save()
    _schedule_delivery()
    return message


def build_payload(record: DishonestyRecord, message: CreditOutboxMessage) -> dict[str, Any]:
    """What the platform receives, less the ID number (added from the encrypted record at
    send time, so the outbox never holds it in clear)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    payload: dict[str, Any] = {
        "type": "dishonesty_record" if message.kind == MessageKind.RECORD else "withdrawal",
        "idempotency_key": str(message.idempotency_key),
        "sequence": message.sequence,
        "record_id": str(record.public_id),
        "issuer": ISSUER,
        "person": {"name": record.person_name},
    }
    if message.kind == MessageKind.RECORD:
        payload.update(
            what_was_false=record.what_was_false,
            fields=record.fields,
            evidence=record.evidence,
            legal_basis=record.legal_basis,
            decision={
                "decision": "confirmed_false_declaration",
                "flagged_at": iso(record.flagged_at),
                "confirmed_at": iso(record.confirmed_at),
                "appeal_deadline": iso(record.appeal_deadline),
                "final_at": iso(record.final_at),
            },
        )
    else:
        payload.update(
            withdrawn_at=iso(record.withdrawn_at),
            reason=record.withdrawal_reason,
            status=record.status,
        )
    return payload


def _schedule_delivery() -> None:
    """Run a delivery round in the background once the transaction commits."""
    from healthcode.credit.tasks import deliver_credit_outbox

    if not getattr(settings, "HEALTHCODE_CREDIT_ENDPOINT", ""):
        return  # nowhere to send: the cron command or a file export takes over
    transaction.on_commit(lambda: deliver_credit_outbox.enqueue())
