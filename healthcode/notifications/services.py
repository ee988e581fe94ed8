"""Notifications: the one function that tells a resident something (an in-app message and an
SMS), the resident's own reads of the message centre, and "who viewed my data" from the
audit log. Other apps (appeals, credit) call `notify` for their outcomes; colour changes and
reviews reach it through the receivers in `receivers.py`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcode.audit.choices import AuditAction
from healthcode.audit.models import AuditedCode, AuditRecord
from healthcode.audit.services import audit, audit_many
from healthcode.backoffice.models import AdminRole
from healthcode.codes.choices import Relation
from healthcode.codes.models import HealthCode
from healthcode.lib.masking import mask_name, mask_phone
from healthcode.notifications.choices import NotificationKind
from healthcode.notifications.models import Notification

log = logging.getLogger(__name__)

SMS_PREFIX = "【爱南宁健康码】"

# What a resident sees in "who viewed my data": views of unmasked data and exports.
DATA_VIEW_ACTIONS = (AuditAction.UNMASKED_VIEW, AuditAction.EXPORT, AuditAction.EXPORT_DOWNLOAD)
CODE_SUBJECT = "codes.healthcode"
ENTERPRISE_SUBJECT = "enterprises.enterprise"
# Enterprise exports that list employees' personal data (enterprises/exports.py).
ENTERPRISE_EXPORTS = ("employees", "attendance")


# --- Sending --------------------------------------------------------------------------------


def _sms_phone(user: Any, code: HealthCode | None) -> str:
    """A family member's code is about that person: the SMS goes to the phone declared for
    them; everything else goes to the account's phone."""
    if code is not None and code.relation == Relation.FAMILY and code.phone:
        return code.phone
    return user.phone


def _send_sms(phone: str, text: str) -> None:
    from healthcode.accounts.sms import send_sms

    try:
        send_sms(phone, text)
    except Exception:  # the message is in the centre; a failed SMS must not undo anything
        log.exception("notification SMS to %s failed", mask_phone(phone))


# No savepoint: a message is written inside its caller's transaction (a colour change, a
# review) and costs only its two inserts there; an error still rolls back the whole caller.
@transaction.atomic(savepoint=False)
def notify(
    *,
    user: Any,
    kind: str,
    title_zh: str,
    body_zh: str,
    title_en: str,
    body_en: str,
    code: HealthCode | None = None,
    sms: bool = True,
) -> Notification:
    """Tell an account something: an in-app message (Chinese and English) and, when `sms`,
    the Chinese text by SMS once the caller's transaction commits (nothing is sent for work
    that is rolled back, and a failed SMS is logged, never raised). Audited."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    notification = Notification.objects.create(
        recipient=user,
        code=code,
        kind=kind,
        title=title_zh[:200],
        body=body_zh,
        title_en=title_en[:200],
        body_en=body_en,
    )
    audit(
        action=AuditAction.NOTIFICATION,
        subject=notification,
        detail={"kind": kind, "code": code.pk if code is not None else None, "sms": bool(sms)},
    )
    if sms:
        phone = _sms_phone(user, code)
        text = f"{SMS_PREFIX}{body_zh}"
        transaction.on_commit(lambda: _send_sms(phone, text))
    return notification


def notify_many(messages: list[dict[str, Any]]) -> list[Notification]:
    """`notify` for many messages at once (each a dict of notify's keywords): the same
    messages, audit records and SMS, with the messages inserted in bulk, the audit records
    appended under one chain lock and the SMS sent by one callback once the caller's
    transaction commits."""
    for message in messages:
        if message["kind"] not in NotificationKind.values:
            raise ValueError(f"unknown notification kind {message['kind']!r}")
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                recipient=m["user"],
                code=m.get("code"),
                kind=m["kind"],
                title=m["title_zh"][:200],
                body=m["body_zh"],
                title_en=m["title_en"][:200],
                body_en=m["body_en"],
            )
            for m in messages
        ]
    )
    audit_many(
        {
            "action": AuditAction.NOTIFICATION,
            "subject": notification,
            "detail": {
                "kind": m["kind"],
                "code": m["code"].pk if m.get("code") is not None else None,
                "sms": bool(m.get("sms", True)),
            },
        }
        for notification, m in zip(notifications, messages, strict=True)
    )
    texts = [
        (_sms_phone(m["user"], m.get("code")), f"{SMS_PREFIX}{m['body_zh']}")
        for m in messages
        if m.get("sms", True)
    ]
    if texts:

        def send() -> None:
            for phone, text in texts:
                _send_sms(phone, text)

        transaction.on_commit(send)
    return notifications


# --- The message centre ---------------------------------------------------------------------


def messages_for(user: Any) -> QuerySet[Notification]:
    """The account's own messages, newest first (nobody else's, ever)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).select_related("code")


def unread_count(user: Any) -> int:
    """How many of the account's messages are unread."""
    return messages_for(user).filter(read_at__isnull=True).count()


# Marking one's own messages read is not audited: it changes nothing but the reader's own
# view, and the audit log is for what touches other people's data or decisions.
@transaction.atomic
def mark_read(*, user: Any, notification_id: Any, now: datetime | None = None) -> Notification:
    """Mark one of the account's messages read (404 for anyone else's; idempotent)."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("no such message")
    notification = get_object_or_404(
        Notification.objects.select_for_update().filter(recipient=user), pk=notification_id
    )
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_read(*, user: Any, now: datetime | None = None) -> int:
    """Mark all the account's unread messages read; returns how many were unread."""
    return messages_for(user).filter(read_at__isnull=True).update(read_at=now or timezone.now())


def present_message(notification: Notification) -> dict[str, Any]:
    """A message as the API and the page show it, in the request's language."""
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "kind_label": str(notification.get_kind_display()),
        "title": notification.localized_title(),
        "body": notification.localized_body(),
        "code": str(notification.code.public_id) if notification.code_id else None,
        "created_at": notification.created_at,
        "read": notification.read_at is not None,
        "read_at": notification.read_at,
    }


# --- Who viewed my data ---------------------------------------------------------------------


def _what(record: AuditRecord) -> str:
    detail = record.detail or {}
    if record.action == AuditAction.UNMASKED_VIEW:
        if detail.get("field") == "id_number":
            return _("查看了完整身份证号")
        return _("查看了未脱敏的个人信息")
    if record.subject_type == ENTERPRISE_SUBJECT:
        if detail.get("what") == "attendance":
            return _("导出了企业健康考勤记录（含您的考勤）")
        return _("导出了企业员工花名册（含您的信息）")
    return _("导出了包含您信息的数据")


def _roles_at(roles: list[AdminRole], at: datetime) -> list[AdminRole]:
    """The viewer's back-office roles in force at the moment of the view."""
    return [r for r in roles if r.granted_at <= at and (r.revoked_at is None or r.revoked_at > at)]


def data_view_records(user: Any) -> QuerySet[AuditRecord]:
    """Audit records of other people viewing the account's codes unmasked or exporting them:
    views and exports whose subject is one of the account's codes, and exports of an
    enterprise's employees or attendance where one of the codes is an employee, and back-office
    roster pages and exports shown unmasked that held one of the codes. The account's own
    views are left out."""
    from healthcode.enterprises.models import Employee

    if not getattr(user, "is_authenticated", False):
        return AuditRecord.objects.none()
    code_ids = [
        str(pk) for pk in HealthCode.objects.filter(account=user).values_list("pk", flat=True)
    ]
    enterprise_ids = [
        str(pk)
        for pk in Employee.objects.filter(code__account=user)
        .values_list("enterprise_id", flat=True)
        .distinct()
    ]
    touches_codes = Q(
        action__in=DATA_VIEW_ACTIONS, subject_type=CODE_SUBJECT, subject_id__in=code_ids
    )
    enterprise_exports = Q(
        action=AuditAction.EXPORT,
        subject_type=ENTERPRISE_SUBJECT,
        subject_id__in=enterprise_ids,
        detail__what__in=ENTERPRISE_EXPORTS,
    )
    # Roster pages and roster exports shown unmasked name the codes they showed (AuditedCode).
    roster_views = Q(
        action__in=DATA_VIEW_ACTIONS,
        pk__in=AuditedCode.objects.filter(code__account=user).values("record_id"),
    )
    return (
        AuditRecord.objects.filter(touches_codes | enterprise_exports | roster_views)
        .exclude(actor=user)
        .select_related("actor")
        .order_by("-at", "-id")
    )


def data_views_for(user: Any, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest `limit` views and exports of the account's data, each with the viewer's
    roles and organisation at the time, the moment and what was done; the viewer's phone is
    masked."""
    from healthcode.enterprises.models import Enterprise

    records = list(data_view_records(user)[:limit])
    actor_ids = {r.actor_id for r in records if r.actor_id is not None}
    roles_by_actor: dict[int, list[AdminRole]] = {}
    for role in AdminRole.objects.filter(user_id__in=actor_ids).order_by("granted_at", "id"):
        roles_by_actor.setdefault(role.user_id, []).append(role)
    code_pks = {int(r.subject_id) for r in records if r.subject_type == CODE_SUBJECT}
    codes = {c.pk: c for c in HealthCode.objects.filter(pk__in=code_pks)}
    enterprise_pks = {int(r.subject_id) for r in records if r.subject_type == ENTERPRISE_SUBJECT}
    enterprises = {e.pk: e for e in Enterprise.objects.filter(pk__in=enterprise_pks)}

    items = []
    for record in records:
        roles = _roles_at(roles_by_actor.get(record.actor_id, []), record.at)
        role_kinds = [r.kind for r in roles]
        role_labels = [str(r.get_kind_display()) for r in roles]
        organisations = [r.organisation for r in roles if r.organisation]
        code = codes.get(int(record.subject_id)) if record.subject_type == CODE_SUBJECT else None
        if record.subject_type == ENTERPRISE_SUBJECT:
            enterprise = enterprises.get(int(record.subject_id))
            role_kinds = role_kinds or ["enterprise_manager"]
            role_labels = role_labels or [_("企业管理人员")]
            if enterprise is not None:
                organisations = [enterprise.name]
        items.append(
            {
                "id": record.pk,
                "at": record.at,
                "action": record.action,
                "action_label": str(record.get_action_display()),
                "what": _what(record),
                "roles": role_kinds,
                "role_labels": role_labels,
                "organisation": "、".join(dict.fromkeys(organisations)),
                "viewer": mask_phone(record.actor.phone) if record.actor else "",
                "code": str(code.public_id) if code is not None else None,
                "code_name": mask_name(code.name) if code is not None else "",
            }
        )
    return items
