"""Pages for the live status (实时动态监控), the daily report (每日上报) and the authorities'
overview of who has reported. Thin doors onto healthcode.enterprises.reports, like the API.

- `/enterprises/<id>/dashboard`: managers and co-managers (others 404); dashboard.js refreshes
  it every 30 s from `GET /api/v1/enterprises/<id>/status`.
- `/enterprises/<id>/report?day=`: the day's figures filled in, editable, submitted by a
  manager; corrections keep history.
- `/enterprises/oversight/reports?day=`: city, district and industry admins (others 403).
  It belongs with the back office; it lives here until the management system takes it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import enterprise_managed_by
from healthcode.enterprises import reports

REFRESH_SECONDS = 30
# How many enterprises of each kind (reported / not reported) the overview lists.
OVERVIEW_LIMIT = 500


def _day_param(request: HttpRequest, default: date) -> tuple[date, str | None]:
    """The `day` query parameter (YYYY-MM-DD), or the default with a message saying why."""
    raw = request.GET.get("day", "").strip()
    if not raw:
        return default, None
    try:
        return date.fromisoformat(raw), None
    except ValueError:
        return default, _("日期格式应为 YYYY-MM-DD，已显示 %(day)s。") % {
            "day": default.isoformat()
        }


def _values(figures: dict[str, int]) -> list[int | None]:
    """The figures in FIGURES order, for table rows (templates cannot index by a variable)."""
    return [figures.get(name) for name in reports.FIGURES]


def _with_values(item: dict[str, Any], *, revisions: bool = False) -> dict[str, Any]:
    item = {**item, "values": _values(item["figures"])}
    if revisions:
        item["revisions"] = [_with_values(r) for r in item.get("revisions", [])]
    return item


@login_required
@require_GET
def dashboard(request: HttpRequest, enterprise_id: int) -> TemplateResponse:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    context = {
        "enterprise": enterprise,
        "status": reports.enterprise_status(enterprise=enterprise),
        "status_url": reverse("api:enterprise_status", kwargs={"enterprise_id": enterprise.pk}),
        "refresh_seconds": REFRESH_SECONDS,
        "time_zone": settings.TIME_ZONE,
    }
    return TemplateResponse(request, "enterprises/dashboard_page.html", context)


def _figure_rows(
    draft: dict[str, int], submitted: dict[str, int] | None, posted: Any, errors: dict
) -> list[dict[str, Any]]:
    rows = []
    for name in reports.FIGURES:
        value: Any = draft[name]
        if posted is not None:
            value = posted.get(name, value)
        rows.append(
            {
                "name": name,
                "label": reports.figure_label(name),
                "value": value,
                "draft": draft[name],
                "submitted": None if submitted is None else submitted.get(name),
                "errors": errors.get(f"figures.{name}", []),
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def report_page(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    today, yesterday = reports.reportable_days()
    errors: dict[str, list[str]] = {}
    posted = None
    if request.method == "POST":
        posted = request.POST
        try:
            day = date.fromisoformat(request.POST.get("day", ""))
        except ValueError:
            day = today
            errors["day"] = [_("请选择上报日期：今天或昨天。")]
        if not errors:
            # A figure left blank keeps the automatic count, as the page says.
            figures = {
                name: value
                for name in reports.FIGURES
                if (value := request.POST.get(name, "").strip()) != ""
            }
            try:
                report = reports.submit_report(
                    actor=request.user,
                    enterprise=enterprise,
                    day=day,
                    figures=figures,
                    note=request.POST.get("note", ""),
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                errors = exc.message_dict
            else:
                if report.revision == 1:
                    messages.success(
                        request, _("已上报 %(day)s 的情况。") % {"day": day.isoformat()}
                    )
                else:
                    messages.success(
                        request,
                        _("已更正 %(day)s 的上报（第 %(revision)d 版）。")
                        % {"day": day.isoformat(), "revision": report.revision},
                    )
                url = reverse("enterprises:report", kwargs={"enterprise_id": enterprise.pk})
                return redirect(f"{url}?day={day.isoformat()}")
    else:
        day, problem = _day_param(request, today)
        if problem:
            errors["day"] = [problem]
    report = reports.report_for(enterprise=enterprise, day=day)
    submitted = report.figures if report is not None else None
    context = {
        "enterprise": enterprise,
        "day": day,
        "today": today,
        "yesterday": yesterday,
        "reportable": day in (today, yesterday),
        "figures": _figure_rows(
            reports.draft_report(enterprise=enterprise, day=day), submitted, posted, errors
        ),
        "note": posted.get("note", "") if posted is not None else (report.note if report else ""),
        "report": report,
        "errors": errors,
        "other_errors": [
            m for field, msgs in errors.items() if not field.startswith("figures.") for m in msgs
        ],
        "history": [
            _with_values(item, revisions=True)
            for item in reports.report_history(enterprise=enterprise, limit=30)
        ],
        "figure_names": list(reports.FIGURES),
        "figure_labels": [reports.figure_label(n) for n in reports.FIGURES],
    }
    return TemplateResponse(
        request, "enterprises/report_page.html", context, status=400 if errors else 200
    )


@login_required
@require_GET
def oversight_reports(request: HttpRequest) -> TemplateResponse:
    if not reports.is_oversight_admin(request.user):
        raise PermissionDenied(_("仅市、城区（开发区）和行业主管部门管理员可以查看企业上报情况。"))
    day, problem = _day_param(request, timezone.localdate())
    if problem:
        messages.error(request, problem)
    context = {
        "day": day,
        "totals": reports.report_totals_in_scope(user=request.user, day=day),
        "reported": [
            {**row, "values": _values(row["report"]["figures"])}
            for row in reports.reports_in_scope(
                user=request.user, day=day, reported=True, limit=OVERVIEW_LIMIT
            )
        ],
        "not_reported": reports.reports_in_scope(
            user=request.user, day=day, reported=False, limit=OVERVIEW_LIMIT
        ),
        "limit": OVERVIEW_LIMIT,
        "figure_names": list(reports.FIGURES),
        "figure_labels": [reports.figure_label(n) for n in reports.FIGURES],
    }
    return TemplateResponse(request, "enterprises/report_oversight.html", context)


urlpatterns = [
    path("<int:enterprise_id>/dashboard", dashboard, name="dashboard"),
    path("<int:enterprise_id>/report", report_page, name="report"),
    path("oversight/reports", oversight_reports, name="oversight_reports"),
]
