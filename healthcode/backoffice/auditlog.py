"""The audit log viewer (审计日志): filter the append-only audit records by actor (phone),
action, subject (type and id) and time, newest first, 50 a page.

Who: city admins only (others 403 `city_admin_only`). Records name actors and subjects from
every district and department, so a narrower role would need a per-record scope that the log
does not carry; keeping the viewer to the city is the simple, safe rule. The page says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import is_city_admin
from healthcode.accounts.services import validate_phone
from healthcode.audit.choices import AuditAction
from healthcode.audit.models import AuditRecord
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_phone

PAGE_SIZE = 50
FILTERS = ("actor", "action", "subject_type", "subject_id", "since", "until", "page")


def require_audit_viewer(user: Any) -> None:
    """403 for everyone but city admins (pages and API say the same)."""
    if not is_city_admin(user):
        raise ApiError(403, "city_admin_only", _("仅市级管理员可以查看审计日志。"))


def _moment(value: str, *, end: bool) -> datetime | None:
    """An ISO date or date-time; a bare date means its start (`end`: the next day's start,
    so that "until 2020-02-21" includes that whole day). None when it is neither."""
    try:
        # A bare date first: parse_datetime would also read "2020-02-21" as its midnight.
        day: date | None = parse_date(value)
    except ValueError:
        day = None
    if day is not None:
        if end:
            day += timedelta(days=1)
        return timezone.make_aware(datetime.combine(day, time.min))
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def clean_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters as typed values; ValidationError naming each bad one."""
    raw = {name: str(filters.get(name) or "").strip() for name in FILTERS}
    clean: dict[str, Any] = {"page": 1}
    errors: dict[str, list[str]] = {}
    if raw["actor"]:
        try:
            clean["actor"] = validate_phone(raw["actor"])
        except ValidationError:
            errors["actor"] = [_("操作人应为 11 位中国大陆手机号码。")]
    if raw["action"]:
        if raw["action"] in AuditAction.values:
            clean["action"] = raw["action"]
        else:
            errors["action"] = [
                _("操作类型“%(value)s”不存在；可选：%(values)s。")
                % {"value": raw["action"], "values": "、".join(AuditAction.values)}
            ]
    if raw["subject_type"]:
        if len(raw["subject_type"]) > 32:
            errors["subject_type"] = [
                _("对象类型不能超过 32 个字符（如 enterprises.enterprise）。")
            ]
        clean["subject_type"] = raw["subject_type"].lower()
    if raw["subject_id"]:
        if len(raw["subject_id"]) > 64:
            errors["subject_id"] = [_("对象编号不能超过 64 个字符。")]
        clean["subject_id"] = raw["subject_id"]
    for name, end in (("since", False), ("until", True)):
        if raw[name]:
            moment = _moment(raw[name], end=end)
            if moment is None:
                errors[name] = [_("时间应为日期（YYYY-MM-DD）或日期时间（YYYY-MM-DDTHH:MM）。")]
            else:
                clean[name] = moment
    if clean.get("since") and clean.get("until") and clean["until"] <= clean["since"]:
        errors["until"] = [_("结束时间必须晚于开始时间。")]
    if raw["page"]:
        if raw["page"].isdigit() and int(raw["page"]) >= 1:
            clean["page"] = int(raw["page"])
        else:
            errors["page"] = [_("页码应为从 1 开始的整数。")]
    if errors:
        raise ValidationError(errors)
    return clean


def audit_log(*, viewer: Any, filters: Mapping[str, Any]) -> dict[str, Any]:
    """A page of audit records matching `filters` (actor phone, action, subject_type,
    subject_id, since, until, page), newest first. Actors are shown as masked phones, details
    as stored (services write masked values there). `has_next` comes from reading one record
    more than a page, so no count runs over the whole log."""
    require_audit_viewer(viewer)
    clean = clean_filters(filters)
    records = AuditRecord.objects.select_related("actor")
    if "actor" in clean:
        records = records.filter(actor__phone=clean["actor"])
    if "action" in clean:
        records = records.filter(action=clean["action"])
    if "subject_type" in clean:
        records = records.filter(subject_type=clean["subject_type"])
    if "subject_id" in clean:
        records = records.filter(subject_id=clean["subject_id"])
    if "since" in clean:
        records = records.filter(at__gte=clean["since"])
    if "until" in clean:
        records = records.filter(at__lt=clean["until"])
    page = clean["page"]
    offset = (page - 1) * PAGE_SIZE
    rows = list(records.order_by("-at", "-id")[offset : offset + PAGE_SIZE + 1])
    labels = dict(AuditAction.choices)
    return {
        "page": page,
        "page_size": PAGE_SIZE,
        "has_next": len(rows) > PAGE_SIZE,
        "items": [
            {
                "id": r.pk,
                "at": r.at,
                "actor": mask_phone(r.actor.phone) if r.actor is not None else "",
                "action": r.action,
                "action_label": str(labels.get(r.action, r.action)),
                "subject_type": r.subject_type,
                "subject_id": r.subject_id,
                "detail": r.detail,
                "ip": r.ip,
            }
            for r in rows[:PAGE_SIZE]
        ],
    }
