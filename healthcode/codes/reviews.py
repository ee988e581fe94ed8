"""Reviews (审核) and manual colours (人工赋码): the one place where an authority decides on a
code.

- `review_code` / `review_codes`: a reviewer (or an admin of the district, or a city admin)
  approves or refuses a yellow or red code in scope; approval makes the code green now if the
  rule set's conditions are met, otherwise automatically later (the engine's next_change_at).
- `request_manual_color` / `confirm_manual_color` / `withdraw_manual_color`: turning a code
  yellow or red by hand needs a reason from the rule set's closed list (tied to a published
  rule) and a second official to confirm it (four eyes); the resident is then told by SMS and
  sees the reason on the code's "why" page (the engine's reason text).

Every write locks the code's row (check-ins, sweeps and reviews of one code are serialised),
is audited, and ends in `services.redecide`. Reads for the queue and the detail page live here
too, so pages and API show the same.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import (
    admin_roles,
    codes_in_scope,
    is_city_admin,
    reviewable_codes,
)
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.codes import rules, services
from healthcode.codes.choices import ChangeCause, RequestStatus, ReviewOutcome
from healthcode.codes.models import HealthCode, ManualColorRequest, Review
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_name
from healthcode.regions import services as regions

log = logging.getLogger(__name__)

NOTE_MAX = 500
BULK_MAX = 200
# The rules a queue can be filtered by (the rule ids of the engine's reasons).
QUEUE_RULES = (
    rules.RULE_MANUAL,
    rules.RULE_OFFICIAL_LIST,
    rules.RULE_RETURN_REGION,
    rules.RULE_CONTACT,
    rules.RULE_CHECKIN_CONTACT,
    rules.RULE_SYMPTOMS,
    rules.RULE_CHECKIN_SYMPTOMS,
    rules.RULE_REVIEW,
)
# A code has a handful of reasons; the queue's rule filter looks at this many.
_REASONS_SEARCHED = 8


# --- Who may -------------------------------------------------------------------------------


def may_review(user: Any) -> bool:
    """Reviewers, district (development-zone) admins and city admins review codes and set
    colours by hand; industry admins oversee enterprises, not codes."""
    return is_city_admin(user) or (
        admin_roles(user).filter(kind__in=["reviewer", "district_admin"]).exists()
    )


def require_reviewer(user: Any) -> None:
    """403 for an admin whose role does not review codes (the same answer on pages and API)."""
    if not may_review(user):
        raise ApiError(
            403,
            "not_a_reviewer",
            _("仅审核员、城区（开发区）管理员和市级管理员可以审核健康码或人工赋码。"),
        )


def _not_own(actor: Any, code: HealthCode, what: str) -> None:
    if code.account_id == getattr(actor, "pk", None):
        raise ApiError(403, "own_code", _("不能%(what)s自己账号下的健康码。") % {"what": what})


def _clean_note(note: Any, *, required: bool, message: str) -> str:
    note = str(note or "").strip()
    if required and not note:
        raise ValidationError({"note": [message]})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": [_("说明不能超过 %(max)d 个字。") % {"max": NOTE_MAX}]})
    return note


def _lock(code: HealthCode) -> HealthCode:
    return HealthCode.objects.select_for_update().get(pk=code.pk)


# --- Reviews -------------------------------------------------------------------------------


def _clean_outcome(outcome: Any, note: Any) -> tuple[str, str]:
    if outcome not in ReviewOutcome.values:
        raise ValidationError(
            {"outcome": [_("审核结果必须是 approve（通过）或 refuse（不通过）。")]}
        )
    note = _clean_note(
        note,
        required=outcome == ReviewOutcome.REFUSE,
        message=_("审核不通过时必须填写理由，持码人会看到这一理由。"),
    )
    return outcome, note


def _apply_review(
    *,
    reviewer: Any,
    locked: HealthCode,
    outcome: str,
    note: str,
    ip: str | None,
    now: datetime,
    bulk: bool = False,
) -> dict[str, Any]:
    color_before = locked.color
    review = Review.objects.create(
        code=locked, reviewer=reviewer, outcome=outcome, note=note, decided_at=now
    )
    audit(
        action=AuditAction.REVIEW,
        actor=reviewer,
        subject=locked,
        ip=ip,
        detail={
            "review": review.pk,
            "outcome": outcome,
            "note": note,
            "color_before": color_before,
            "bulk": bulk,
        },
    )
    services.redecide(locked, cause=ChangeCause.REVIEW, now=now, actor=reviewer)
    return {
        "id": str(locked.public_id),
        "review": review.pk,
        "outcome": outcome,
        "color_before": color_before,
        "color": locked.color,
        "next_change_at": locked.next_change_at,
    }


@transaction.atomic
def review_code(
    *,
    reviewer: Any,
    code: HealthCode,
    outcome: str,
    note: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Approve or refuse one yellow or red code in the reviewer's scope (404 otherwise; a
    refusal needs a note). Approval turns the code green now if the rule set's conditions
    are already met, or automatically when they are. Returns what happened to the code."""
    require_reviewer(reviewer)
    outcome, note = _clean_outcome(outcome, note)
    now = now or timezone.now()
    locked = _lock(code)
    if not reviewable_codes(reviewer).filter(pk=locked.pk).exists():
        raise Http404("no such code to review")
    _not_own(reviewer, locked, _("审核"))
    return _apply_review(
        reviewer=reviewer, locked=locked, outcome=outcome, note=note, ip=ip, now=now
    )


def _public_ids(values: Iterable[Any]) -> tuple[list[uuid.UUID], list[str]]:
    parsed: list[uuid.UUID] = []
    bad: list[str] = []
    for value in values:
        try:
            public_id = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            bad.append(str(value))
            continue
        if public_id not in parsed:
            parsed.append(public_id)
    return parsed, bad


@transaction.atomic
def review_codes(
    *,
    reviewer: Any,
    codes: Iterable[Any],
    outcome: str,
    note: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Approve or refuse several codes (by public id) at once: all or nothing. Any code not
    in the reviewer's queue (another district's, green, unknown, malformed) → 404 naming
    them, and nothing is reviewed. Returns one report per code."""
    require_reviewer(reviewer)
    outcome, note = _clean_outcome(outcome, note)
    if isinstance(codes, str | bytes) or not isinstance(codes, Iterable):
        raise ValidationError({"codes": [_("请提供要审核的健康码列表。")]})
    public_ids, bad = _public_ids(codes)
    if not public_ids and not bad:
        raise ValidationError({"codes": [_("请至少选择一个健康码。")]})
    if len(public_ids) + len(bad) > BULK_MAX:
        raise ValidationError(
            {"codes": [_("一次最多批量审核 %(max)d 个健康码。") % {"max": BULK_MAX}]}
        )
    now = now or timezone.now()
    # Lock in a fixed order, so that two bulk reviews never wait for each other in a cycle.
    locked = list(
        HealthCode.objects.select_for_update().filter(public_id__in=public_ids).order_by("pk")
    )
    allowed = set(
        reviewable_codes(reviewer)
        .filter(pk__in=[c.pk for c in locked])
        .exclude(account=reviewer)
        .values_list("pk", flat=True)
    )
    found = {c.public_id for c in locked if c.pk in allowed}
    missing = bad + [str(p) for p in public_ids if p not in found]
    if missing:
        raise ApiError(
            404,
            "not_found",
            _("以下健康码不存在、不在您的审核范围内或无需审核，本次未审核任何健康码：%(ids)s")
            % {"ids": "、".join(missing)},
        )
    by_public_id = {c.public_id: c for c in locked}
    return [
        _apply_review(
            reviewer=reviewer,
            locked=by_public_id[p],
            outcome=outcome,
            note=note,
            ip=ip,
            now=now,
            bulk=True,
        )
        for p in public_ids
    ]


# --- Manual colours (four eyes) -------------------------------------------------------------


def manual_reasons() -> tuple[rules.ManualReason, ...]:
    """The closed list of reasons of the rule set in force."""
    return services.rule_set_in_force().manual_reasons


def _in_scope(user: Any, code: HealthCode) -> None:
    if not codes_in_scope(user).filter(pk=code.pk).exists():
        raise Http404("no such code")


def _clean_manual(color: Any, reason_code: Any) -> rules.ManualReason:
    errors: dict[str, list[str]] = {}
    if color not in rules.MANUAL_COLORS:
        errors["color"] = [_("人工赋码只能赋为黄码（yellow）或红码（red）。")]
    reason = services.rule_set_in_force().manual_reason(str(reason_code or ""))
    if reason is None:
        errors["reason_code"] = [_("人工赋码的原因必须从现行规则集公布的原因清单中选择。")]
    elif "color" not in errors and color not in reason.colors:
        allowed = "、".join(rules.COLOR_ZH[c] for c in reason.colors)
        errors["reason_code"] = [
            _("原因“%(reason)s”只能用于赋%(colors)s。")
            % {"reason": reason.text_zh, "colors": allowed}
        ]
    if errors:
        raise ValidationError(errors)
    assert reason is not None
    return reason


@transaction.atomic
def request_manual_color(
    *,
    requester: Any,
    code: HealthCode,
    color: str,
    reason_code: str,
    note: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> ManualColorRequest:
    """Ask for a code in scope to be turned yellow or red by hand, for a reason of the closed
    list allowed for that colour. Takes effect only when a second official confirms it. One
    pending request per code."""
    require_reviewer(requester)
    now = now or timezone.now()
    locked = _lock(code)
    _in_scope(requester, locked)
    _not_own(requester, locked, _("人工赋码"))
    reason = _clean_manual(color, reason_code)
    note = _clean_note(note, required=False, message="")
    if locked.manual_requests.filter(status=RequestStatus.PENDING).exists():
        raise ApiError(
            409,
            "already_pending",
            _("该健康码已有一条待复核的人工赋码申请，请等待复核或撤回后再申请。"),
        )
    request = ManualColorRequest.objects.create(
        code=locked,
        color=color,
        reason_code=reason.code,
        note=note,
        requested_by=requester,
        requested_at=now,
    )
    audit(
        action=AuditAction.MANUAL_COLOR_REQUEST,
        actor=requester,
        subject=locked,
        ip=ip,
        detail={
            "request": request.pk,
            "color": color,
            "reason_code": reason.code,
            "rule": reason.rule,
            "note": note,
        },
    )
    return request


def _locked_request(request: ManualColorRequest) -> tuple[HealthCode, ManualColorRequest]:
    # The code first, as every other write on a code does, then the request.
    locked = HealthCode.objects.select_for_update().get(pk=request.code_id)
    return locked, ManualColorRequest.objects.select_for_update().get(pk=request.pk)


def _still_pending(request: ManualColorRequest) -> None:
    if request.status != RequestStatus.PENDING:
        raise ApiError(
            409,
            "already_decided",
            _("该人工赋码申请已%(status)s，不能再处理。")
            % {"status": request.get_status_display()},
        )


@transaction.atomic
def confirm_manual_color(
    *,
    approver: Any,
    request: ManualColorRequest,
    approve: bool,
    note: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> ManualColorRequest:
    """The second official's decision on a manual colour (four eyes): never the requester
    (403 four_eyes), always someone with the code in scope (404 otherwise). Approval makes it
    a fact of the code, re-derives the colour and tells the resident by SMS."""
    require_reviewer(approver)
    now = now or timezone.now()
    locked, request = _locked_request(request)
    _in_scope(approver, locked)
    _still_pending(request)
    if request.requested_by_id == getattr(approver, "pk", None):
        raise ApiError(
            403,
            "four_eyes",
            _("人工赋码须由申请人以外的另一名工作人员复核确认（双人复核）。"),
        )
    _not_own(approver, locked, _("复核"))
    note = _clean_note(note, required=False, message="")
    reason = None
    if approve:
        # The rule set may have changed since the request: the reason must still be listed.
        reason = _clean_manual(request.color, request.reason_code)
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    request.confirmed_by = approver
    request.decided_at = now
    request.save(update_fields=["status", "confirmed_by", "decided_at"])
    color_before = locked.color
    audit(
        action=AuditAction.MANUAL_COLOR_DECISION,
        actor=approver,
        subject=locked,
        ip=ip,
        detail={
            "request": request.pk,
            "approve": bool(approve),
            "color": request.color,
            "reason_code": request.reason_code,
            "requested_by": request.requested_by_id,
            "note": note,
            "color_before": color_before,
        },
    )
    if approve:
        services.redecide(locked, cause=ChangeCause.MANUAL, now=now, actor=approver)
        text = _notification_text(locked, request, reason)
        phone = locked.phone
        transaction.on_commit(lambda: _notify(phone, text))
    return request


@transaction.atomic
def withdraw_manual_color(
    *,
    requester: Any,
    request: ManualColorRequest,
    ip: str | None = None,
    now: datetime | None = None,
) -> ManualColorRequest:
    """The requester withdraws their own pending request (403 for anyone else in scope)."""
    now = now or timezone.now()
    locked, request = _locked_request(request)
    _in_scope(requester, locked)
    if request.requested_by_id != getattr(requester, "pk", None):
        raise ApiError(403, "not_requester", _("只有申请人可以撤回人工赋码申请。"))
    _still_pending(request)
    request.status = RequestStatus.WITHDRAWN
    request.decided_at = now
    request.save(update_fields=["status", "decided_at"])
    audit(
        action=AuditAction.MANUAL_COLOR_WITHDRAW,
        actor=requester,
        subject=locked,
        ip=ip,
        detail={"request": request.pk, "color": request.color, "reason_code": request.reason_code},
    )
    return request


def _notification_text(
    code: HealthCode, request: ManualColorRequest, reason: rules.ManualReason | None
) -> str:
    """The SMS to the resident, in Chinese: the new colour and the reason."""
    why = reason.text_zh if reason is not None else request.reason_code
    return (
        f"【爱南宁健康码】{mask_name(code.name)}的健康码经工作人员复核，"
        f"因“{why}”被赋为{rules.COLOR_ZH[request.color]}，"
        f"当前为{rules.COLOR_ZH[code.color]}。"
        "请在健康码“为什么是这个颜色”页面查看原因和转为绿码的条件；如有异议，请联系所在城区审核部门。"
    )


def _notify(phone: str, text: str) -> None:
    from healthcode.accounts.sms import send_sms

    try:
        send_sms(phone, text)
    except Exception:  # the colour is decided; a failed SMS must not undo it
        log.exception("manual colour SMS to %s**** failed", phone[:3])


def pending_requests_for(user: Any) -> QuerySet[ManualColorRequest]:
    """Pending manual colours the user may confirm: codes in scope, requested by someone
    else. Empty for accounts that do not review."""
    if not may_review(user):
        return ManualColorRequest.objects.none()
    return (
        ManualColorRequest.objects.filter(
            status=RequestStatus.PENDING, code__in=codes_in_scope(user)
        )
        .exclude(requested_by=user)
        .exclude(code__account=user)
        .select_related("code", "code__district", "requested_by")
        .order_by("requested_at", "pk")
    )


def manual_request_in_scope(user: Any, request_id: Any) -> ManualColorRequest:
    """One manual colour request whose code is in the user's scope, or 404."""
    try:
        pk = int(str(request_id))
    except ValueError:
        raise Http404("no such request") from None
    request = (
        ManualColorRequest.objects.filter(pk=pk, code__in=codes_in_scope(user))
        .select_related("code", "requested_by", "confirmed_by")
        .first()
    )
    if request is None:
        raise Http404("no such request")
    return request


# --- Reading: the queue and one code --------------------------------------------------------


def review_queue(
    user: Any,
    *,
    district: str | None = None,
    color: str | None = None,
    rule: str | None = None,
) -> QuerySet[HealthCode]:
    """Yellow and red codes the user may review, red first, then those waiting longest;
    filtered by district, colour and the rule of a reason. Bad filter values → 400."""
    require_reviewer(user)
    errors: dict[str, list[str]] = {}
    qs = reviewable_codes(user).select_related("district")
    if district:
        if not regions.is_nanning_district(district):
            errors["district"] = [
                _("城区应为南宁市县（区）或开发区的代码，例如 450103（青秀区）。")
            ]
        else:
            qs = qs.filter(district_id=district)
    if color:
        if color not in (rules.YELLOW, rules.RED):
            errors["color"] = [_("审核队列只有黄码（yellow）和红码（red）。")]
        else:
            qs = qs.filter(color=color)
    if rule:
        if rule not in QUEUE_RULES:
            errors["rule"] = [
                _("规则应为以下之一：%(rules)s。") % {"rules": "、".join(QUEUE_RULES)}
            ]
        else:
            # Stored reasons are JSON lists; a JSON path per position works on SQLite and
            # PostgreSQL alike.
            match = Q()
            for i in range(_REASONS_SEARCHED):
                match |= Q(**{f"reasons__{i}__rule": rule})
            qs = qs.filter(match)
    if errors:
        raise ValidationError(errors)
    # Red before yellow ("red" < "yellow" as text), then the longest waiting.
    return qs.order_by("color", "color_since", "pk")


def _lang_text(item: dict[str, Any]) -> str:
    lang = (get_language() or "zh-hans").lower()
    return item.get("text_en") if lang.startswith("en") else item.get("text_zh")


def present_reason(reason: rules.ManualReason) -> dict[str, Any]:
    lang = (get_language() or "zh-hans").lower()
    return {
        "code": reason.code,
        "text": reason.text_en if lang.startswith("en") else reason.text_zh,
        "text_zh": reason.text_zh,
        "text_en": reason.text_en,
        "colors": list(reason.colors),
        "rule": reason.rule,
    }


def present_person(
    code: HealthCode, *, viewer: Any, unmask: bool, ip: str | None
) -> dict[str, Any]:
    """Name, phone and ID number: masked, or in full when asked for by a viewer who may
    unmask (the ID number's reveal is audited)."""
    from healthcode.accounts.permissions import may_unmask
    from healthcode.lib.masking import mask_phone

    if unmask and may_unmask(viewer):
        return {
            "name": code.name,
            "phone": code.phone,
            "id_number": services.reveal_id_number(code=code, viewer=viewer, ip=ip),
            "unmasked": True,
        }
    return {
        "name": mask_name(code.name),
        "phone": mask_phone(code.phone),
        "id_number": code.id_number_masked,
        "unmasked": False,
    }


def present_queue_item(
    code: HealthCode, *, viewer: Any, unmask: bool = False, ip: str | None = None
) -> dict[str, Any]:
    main = code.reasons[0] if code.reasons else {}
    return {
        "id": str(code.public_id),
        **present_person(code, viewer=viewer, unmask=unmask, ip=ip),
        "district": code.district_id,
        "district_name": code.district.name if code.district_id else "",
        "color": code.color,
        "color_since": code.color_since,
        "main_reason": {"rule": main.get("rule", ""), "text": _lang_text(main) or ""},
        "next_change_at": code.next_change_at,
    }


def present_request(request: ManualColorRequest) -> dict[str, Any]:
    from healthcode.lib.masking import mask_phone

    reason = services.rule_set_in_force().manual_reason(request.reason_code)
    requested_by = request.requested_by
    confirmed_by = request.confirmed_by
    return {
        "id": request.pk,
        "code": str(request.code.public_id),
        "code_name": mask_name(request.code.name),
        "district": request.code.district_id,
        "color": request.color,
        "color_label": str(request.get_color_display()),
        "reason_code": request.reason_code,
        "reason": present_reason(reason)["text"] if reason is not None else request.reason_code,
        "note": request.note,
        "status": request.status,
        "status_label": str(request.get_status_display()),
        "requested_by": mask_phone(requested_by.phone) if requested_by else "",
        "requested_by_id": request.requested_by_id,
        "requested_at": request.requested_at,
        "confirmed_by": mask_phone(confirmed_by.phone) if confirmed_by else "",
        "decided_at": request.decided_at,
    }


CHECKIN_DAYS = 14


def code_detail(
    code: HealthCode, *, viewer: Any, unmask: bool = False, ip: str | None = None
) -> dict[str, Any]:
    """Everything a reviewer needs about one code in scope: the person (masked unless asked),
    the declared facts, the colour with reasons and path to green, the last 14 days'
    check-ins, the colour history, reviews, official-list entries and manual colours."""
    from healthcode.checkins.models import CheckIn
    from healthcode.codes.choices import Symptom
    from healthcode.codes.models import ColorChange, OfficialListEntry
    from healthcode.lib.masking import mask_phone

    code = services.current(code)
    shown = services.present(code)
    lang = get_language() or "zh-hans"
    symptom_labels = dict(Symptom.choices)
    since = timezone.localdate() - timedelta(days=CHECKIN_DAYS - 1)
    checkins = [
        {
            "day": c.day,
            "temperature": float(c.temperature),
            "symptoms": list(c.symptoms or []),
            "symptom_labels": [str(symptom_labels.get(s, s)) for s in c.symptoms or []],
            "in_nanning": c.in_nanning,
            "new_contact": c.new_contact,
            "source": c.source,
        }
        for c in CheckIn.objects.filter(code=code, day__gte=since).order_by("-day")
    ]
    history = [
        {
            "at": c.at,
            "color_from": c.color_from,
            "color_to": c.color_to,
            "color_from_label": str(c.get_color_from_display()),
            "color_to_label": str(c.get_color_to_display()),
            "cause": c.cause,
            "cause_label": str(c.get_cause_display()),
            "rules": [r.get("rule", "") for r in c.reasons],
        }
        for c in ColorChange.objects.filter(code=code).order_by("-at", "-pk")[:50]
    ]
    reviews = [
        {
            "decided_at": r.decided_at,
            "outcome": r.outcome,
            "outcome_label": str(r.get_outcome_display()),
            "note": r.note,
            "reviewer": mask_phone(r.reviewer.phone) if r.reviewer else "",
        }
        for r in Review.objects.filter(code=code)
        .select_related("reviewer")
        .order_by("-decided_at", "-pk")
    ]
    entries = [
        {
            "kind": e.kind,
            "kind_label": str(e.get_kind_display()),
            "listed_on": e.listed_on,
            "imported_at": e.batch.imported_at,
            "withdrawn_at": e.withdrawn_at,
        }
        for e in OfficialListEntry.objects.filter(code=code).select_related("batch")
    ]
    requests = [
        present_request(r)
        for r in code.manual_requests.select_related("code", "requested_by", "confirmed_by")
    ]
    region = code.return_region_id
    return {
        "id": str(code.public_id),
        **present_person(code, viewer=viewer, unmask=unmask, ip=ip),
        "district": code.district_id,
        "district_name": regions.describe(code.district_id, lang),
        "address": code.address,
        "color": code.color,
        "color_since": code.color_since,
        "reasons": shown["reasons"],
        "path_to_green": shown["path_to_green"],
        "next_change_at": code.next_change_at,
        "rule_set": shown["rule_set"],
        "reviewable": reviewable_codes(viewer).filter(pk=code.pk).exists(),
        "facts": {
            "returned_to_work": code.returned_to_work,
            "employer": code.employer,
            "returned_from_elsewhere": code.returned_from_elsewhere,
            "return_region": region,
            "return_region_name": regions.describe(region, lang) if region else "",
            "arrival_date": code.arrival_date,
            "contact_with_case": code.contact_with_case,
            "contact_date": code.contact_date,
            "symptoms": list(code.symptoms or []),
            "symptom_labels": [str(symptom_labels.get(s, s)) for s in code.symptoms or []],
            "temperature": float(code.temperature) if code.temperature is not None else None,
            "attested_at": code.attested_at,
        },
        "checkins": checkins,
        "history": history,
        "reviews": reviews,
        "official_lists": entries,
        "manual_requests": requests,
    }
