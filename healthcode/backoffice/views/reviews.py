"""Back-office pages for reviews (审核) and manual colours (人工赋码). Thin doors onto
healthcode.codes.reviews, like the API:

- `/backoffice/reviews`: the queue (`#review-queue`, one row `#code-<id>` per code with a
  checkbox `input[name=codes]`), filters (`#id_district`, `#id_color`, `#id_rule`,
  `#filter`), bulk approve/refuse (`#bulk-note`, `#bulk-approve`, `#bulk-refuse`);
- `/backoffice/reviews/<code_id>`: one code in scope — reasons (`#reasons`), path to green
  (`#path`), declared facts (`#facts`), check-ins (`#checkins`), history (`#history`),
  reviews (`#reviews`), official lists (`#official-lists`), manual colours
  (`#manual-requests`); review (`#note`, `#approve`, `#refuse`) when it is in the queue; the
  manual colour form (`#manual-color`: `#id_color`, `#id_reason_code`, `#id_manual_note`,
  `#request-manual`); withdraw one's own pending request (`#withdraw-<id>`);
- `/backoffice/manual-requests`: the pending manual colours the user may confirm
  (`#pending-requests`, `#request-<id>`, note `#note-<id>`, `#confirm-<id>`, `#reject-<id>`).

Reviewers, district admins and city admins; other admins get 403, accounts without an admin
role 403, visitors the back-office login. Codes outside the user's scope: 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import code_in_scope, may_unmask
from healthcode.backoffice.auth import backoffice_required
from healthcode.codes import reviews
from healthcode.codes.choices import RequestStatus
from healthcode.codes.models import HealthCode
from healthcode.lib.errors import ApiError
from healthcode.regions import services as regions

PAGE_SIZE = 50
RULE_LABELS = {
    "manual": gettext_lazy("人工赋码"),
    "official_list": gettext_lazy("官方名单"),
    "return_region": gettext_lazy("来（返）邕地区"),
    "contact": gettext_lazy("接触史"),
    "checkin_contact": gettext_lazy("打卡报告新接触"),
    "symptoms": gettext_lazy("申报发热或症状"),
    "checkin_symptoms": gettext_lazy("打卡发热或症状"),
    "review": gettext_lazy("审核未通过"),
}


def _require_reviewer(request: HttpRequest) -> None:
    if not reviews.may_review(request.user):
        raise PermissionDenied(
            _("仅审核员、城区（开发区）管理员和市级管理员可以审核健康码或人工赋码。")
        )


def _flash(request: HttpRequest, exc: ValidationError | ApiError, prefix: str = "") -> None:
    texts = [exc.detail] if isinstance(exc, ApiError) else exc.messages
    for text in texts:
        messages.error(request, f"{prefix}{text}")


@backoffice_required
@require_GET
def queue(request: HttpRequest) -> TemplateResponse:
    """The yellow and red codes to review, filtered, 50 a page."""
    _require_reviewer(request)
    filters = {key: request.GET.get(key, "").strip() for key in ("district", "color", "rule")}
    unmask = request.GET.get("unmask") == "1" and may_unmask(request.user)
    errors: dict[str, list[str]] = {}
    try:
        codes = reviews.review_queue(request.user, **filters)
    except ValidationError as exc:
        errors = exc.message_dict
        codes = HealthCode.objects.none()
    page = Paginator(codes, PAGE_SIZE).get_page(request.GET.get("page"))
    ip = client_ip(request)
    items = [reviews.present_queue_item(c, viewer=request.user, unmask=unmask, ip=ip) for c in page]
    query = urlencode({k: v for k, v in filters.items() if v})
    context: dict[str, Any] = {
        "items": items,
        "page": page,
        "filters": filters,
        "errors": errors,
        "query": query,
        "unmask": unmask,
        "may_unmask": may_unmask(request.user),
        "districts": regions.nanning_districts(),
        "rules": [(rule, RULE_LABELS[rule]) for rule in reviews.QUEUE_RULES],
        "pending_count": reviews.pending_requests_for(request.user).count(),
    }
    return TemplateResponse(request, "backoffice/reviews_queue.html", context)


@backoffice_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Approve (or refuse) the checked codes: all or nothing."""
    _require_reviewer(request)
    outcome = "refuse" if request.POST.get("outcome") == "refuse" else "approve"
    try:
        results = reviews.review_codes(
            reviewer=request.user,
            codes=request.POST.getlist("codes"),
            outcome=outcome,
            note=request.POST.get("note", ""),
            ip=client_ip(request),
        )
    except (ValidationError, ApiError) as exc:
        _flash(request, exc)
    else:
        greens = sum(1 for r in results if r["color"] == "green")
        text = (
            _(
                "已审核通过 %(count)d 个健康码，其中 %(green)d 个已转为绿码，其余满足条件后自动转为绿码。"
            )
            if outcome == "approve"
            else _("已审核不通过 %(count)d 个健康码。")
        )
        messages.success(request, text % {"count": len(results), "green": greens})
    return redirect("backoffice:reviews")


@backoffice_required
@require_GET
def detail(request: HttpRequest, code_id: str) -> TemplateResponse:
    """One code in scope, with what a reviewer needs and the review and manual forms."""
    _require_reviewer(request)
    code = code_in_scope(request.user, code_id)
    unmask = request.GET.get("unmask") == "1" and may_unmask(request.user)
    shown = reviews.code_detail(code, viewer=request.user, unmask=unmask, ip=client_ip(request))
    pending = [r for r in shown["manual_requests"] if r["status"] == RequestStatus.PENDING]
    context = {
        "code": shown,
        "unmask": unmask,
        "may_unmask": may_unmask(request.user),
        "manual_reasons": [reviews.present_reason(r) for r in reviews.manual_reasons()],
        "pending": pending[0] if pending else None,
        "user_id": request.user.pk,
    }
    return TemplateResponse(request, "backoffice/reviews_detail.html", context)


@backoffice_required
@require_POST
def decide(request: HttpRequest, code_id: str) -> HttpResponse:
    """Approve or refuse one code of the queue."""
    _require_reviewer(request)
    code = code_in_scope(request.user, code_id)
    outcome = "refuse" if request.POST.get("outcome") == "refuse" else "approve"
    try:
        result = reviews.review_code(
            reviewer=request.user,
            code=code,
            outcome=outcome,
            note=request.POST.get("note", ""),
            ip=client_ip(request),
        )
    except (ValidationError, ApiError) as exc:
        _flash(request, exc)
    else:
        if outcome == "refuse":
            messages.success(request, _("已审核不通过，持码人会看到您填写的理由。"))
        elif result["color"] == "green":
            messages.success(request, _("已审核通过，健康码已转为绿码。"))
        else:
            messages.success(request, _("已审核通过，满足观察期和每日打卡条件后自动转为绿码。"))
    return redirect("backoffice:review_detail", code_id=code.public_id)


@backoffice_required
@require_POST
def manual_color(request: HttpRequest, code_id: str) -> HttpResponse:
    """Request a manual colour; a second official confirms it."""
    _require_reviewer(request)
    code = code_in_scope(request.user, code_id)
    try:
        reviews.request_manual_color(
            requester=request.user,
            code=code,
            color=request.POST.get("color", ""),
            reason_code=request.POST.get("reason_code", ""),
            note=request.POST.get("note", ""),
            ip=client_ip(request),
        )
    except (ValidationError, ApiError) as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已提交人工赋码申请，须由另一名工作人员复核确认后生效。"))
    return redirect("backoffice:review_detail", code_id=code.public_id)


@backoffice_required
@require_GET
def manual_requests(request: HttpRequest) -> TemplateResponse:
    """Pending manual colours the user may confirm (in scope, requested by someone else)."""
    _require_reviewer(request)
    pending = [reviews.present_request(r) for r in reviews.pending_requests_for(request.user)]
    return TemplateResponse(
        request, "backoffice/reviews_manual_requests.html", {"pending": pending}
    )


@backoffice_required
@require_POST
def decide_manual(request: HttpRequest, request_id: int) -> HttpResponse:
    """Confirm (decision=approve) or reject a manual colour."""
    _require_reviewer(request)
    found = reviews.manual_request_in_scope(request.user, request_id)
    approve = request.POST.get("decision") == "approve"
    try:
        reviews.confirm_manual_color(
            approver=request.user,
            request=found,
            approve=approve,
            note=request.POST.get("note", ""),
            ip=client_ip(request),
        )
    except (ValidationError, ApiError) as exc:
        _flash(request, exc)
    else:
        text = (
            _("已复核确认，健康码已按人工赋码重新判定，并已短信通知持码人。")
            if approve
            else _("已驳回该人工赋码申请。")
        )
        messages.success(request, text)
    return redirect("backoffice:manual_requests")


@backoffice_required
@require_POST
def withdraw_manual(request: HttpRequest, request_id: int) -> HttpResponse:
    """The requester withdraws their pending manual colour."""
    _require_reviewer(request)
    found = reviews.manual_request_in_scope(request.user, request_id)
    try:
        reviews.withdraw_manual_color(requester=request.user, request=found, ip=client_ip(request))
    except (ValidationError, ApiError) as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已撤回人工赋码申请。"))
    return redirect("backoffice:review_detail", code_id=found.code.public_id)


urlpatterns = [
    path("reviews", queue, name="reviews"),
    path("reviews/bulk", bulk, name="reviews_bulk"),
    path("reviews/<str:code_id>", detail, name="review_detail"),
    path("reviews/<str:code_id>/decision", decide, name="review_decide"),
    path("reviews/<str:code_id>/manual-color", manual_color, name="manual_color"),
    path("manual-requests", manual_requests, name="manual_requests"),
    path("manual-requests/<int:request_id>", decide_manual, name="manual_decide"),
    path("manual-requests/<int:request_id>/withdraw", withdraw_manual, name="manual_withdraw"),
]
