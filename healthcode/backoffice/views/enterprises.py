"""Enterprise oversight in the back office (/backoffice/enterprises): the queue of enterprises
waiting for approval in the admin's scope, with approve/reject, and every enterprise in scope
with its approval status, the day's report and its employees by colour (filters: status, day;
50 a page). Behind the back-office login (@backoffice_required); accounts with a back-office
role that oversee no enterprises (reviewers) get 403, as in the API; an enterprise outside
the admin's scope does not exist for it (404)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import (
    enterprise_in_scope,
    enterprises_in_scope,
    oversees_enterprises,
)
from healthcode.backoffice import oversight
from healthcode.backoffice.auth import backoffice_required
from healthcode.enterprises import services as enterprise_services
from healthcode.enterprises.choices import EnterpriseStatus
from healthcode.lib.errors import ApiError


def _require_enterprise_admin(request: HttpRequest) -> None:
    if not oversees_enterprises(request.user):
        raise PermissionDenied(_("仅市、城区（开发区）和行业主管部门管理员可以使用此功能。"))


def _filters(request: HttpRequest) -> tuple[date, str, int, list[str]]:
    """The day (default today), status and page of the query string; a bad value is dropped
    with a message saying why."""
    problems: list[str] = []
    raw_day = request.GET.get("day", "").strip()
    day = timezone.localdate()
    if raw_day:
        try:
            parsed = parse_date(raw_day)
        except ValueError:
            parsed = None
        if parsed is None:
            problems.append(_("日期应为 YYYY-MM-DD 格式，已显示今天。"))
        else:
            day = parsed
    status = request.GET.get("status", "").strip()
    if status and status not in EnterpriseStatus.values:
        problems.append(_("没有这个审核状态，已显示全部企业。"))
        status = ""
    raw_page = request.GET.get("page", "1").strip()
    page = int(raw_page) if raw_page.isdigit() and int(raw_page) >= 1 else 1
    return day, status, page, problems


@backoffice_required
def enterprises(request: HttpRequest) -> TemplateResponse:
    """Pending enterprises in the admin's scope, oldest first, the latest decisions, and the
    oversight table of every enterprise in scope."""
    _require_enterprise_admin(request)
    scope = enterprises_in_scope(request.user).select_related("district")
    pending = [
        enterprise_services.present_enterprise(e)
        for e in scope.filter(status=EnterpriseStatus.PENDING).order_by("created_at", "pk")
    ]
    decided = scope.exclude(status=EnterpriseStatus.PENDING).order_by("-decided_at", "-pk")[:20]
    day, status, page, problems = _filters(request)
    overview = oversight.enterprise_overview(
        user=request.user,
        day=day,
        status=status,
        offset=(page - 1) * oversight.PAGE_SIZE,
        limit=oversight.PAGE_SIZE,
    )
    context = {
        "pending": pending,
        "decided": decided,
        "overview": overview,
        "problems": problems,
        "day": day,
        "status": status,
        "statuses": EnterpriseStatus.choices,
        "page": page,
        "has_previous": page > 1,
        "has_next": page * oversight.PAGE_SIZE < overview["total"],
    }
    return TemplateResponse(request, "backoffice/enterprises.html", context)


@backoffice_required
@require_POST
def decide(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """Approve (decision=approve) or reject (decision=reject, with a note)."""
    _require_enterprise_admin(request)
    enterprise = enterprise_in_scope(request.user, enterprise_id)
    approve = request.POST.get("decision") == "approve"
    try:
        enterprise_services.decide_enterprise(
            actor=request.user,
            enterprise=enterprise,
            approve=approve,
            note=request.POST.get("note", ""),
            ip=client_ip(request),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"{enterprise.name}：{message}")
    except ApiError as exc:
        messages.error(request, f"{enterprise.name}：{exc.detail}")
    else:
        text = _("已通过：%(name)s") if approve else _("未通过：%(name)s")
        messages.success(request, text % {"name": enterprise.name})
    return redirect("backoffice:enterprises")


urlpatterns = [
    path("enterprises", enterprises, name="enterprises"),
    path("enterprises/<int:enterprise_id>/decision", decide, name="decide_enterprise"),
]
