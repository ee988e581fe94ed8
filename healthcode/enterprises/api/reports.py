"""API for the live status (实时动态监控) and the daily reports (每日上报) of enterprises.

An enterprise's status, draft and reports are for its managers and co-managers only: for
anyone else the enterprise does not exist (404). The authorities' overview
`GET /enterprises/reports?day=` is for city, district and industry admins: any other logged-in
account gets 403 `not_an_admin` (the same rule as part A's admin endpoints); an admin sees the
approved enterprises of its scope only.

Paths use the `int` converter so that `/enterprises/reports` is never taken for an
enterprise id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import enterprise_managed_by
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.enterprises import reports
from healthcode.lib.errors import ApiError

router = Router()


# --- Schemas -------------------------------------------------------------------------------------


class EnterpriseRef(Schema):
    id: int
    name: str


class ColorCounts(Schema):
    green: int
    yellow: int
    red: int
    unlinked: int = Field(description="employees still invitations (no linked code)")


class Completion(Schema):
    done: int
    total: int = Field(description="employees linked to a code")
    percent: float | None = Field(description="done / total × 100, null when total is 0")


class AbnormalItem(Schema):
    name: str = Field(description="masked")
    temperature: float
    symptoms: list[str]
    at: datetime
    sources: list[str] = Field(description='"checkin" and/or "attendance"')


class AbnormalOut(Schema):
    count: int
    items: list[AbnormalItem]


class KeyItem(Schema):
    name: str = Field(description="masked")
    color: str
    color_label: str = Field(description="the colour's name in the request's language")
    reason: str = Field(description="the first reason, in the request's language")
    observation_until: datetime | None


class KeyOut(Schema):
    count: int
    items: list[KeyItem]


class StatusOut(Schema):
    enterprise: EnterpriseRef
    day: date
    generated_at: datetime
    employees: int
    colors: ColorCounts
    linked: int
    returned_to_work: int
    checkin: Completion
    scan: Completion
    abnormal: AbnormalOut
    key_monitored: KeyOut


class Figures(Schema):
    employees: int
    on_site: int
    returned_to_work: int
    key_monitored: int
    abnormal_health: int
    checked_in: int


class RevisionOut(Schema):
    revision: int
    figures: dict[str, int]
    note: str
    submitted_at: datetime
    submitted_by: str = Field(description="masked phone")


class ReportOut(Schema):
    day: date
    revision: int
    figures: dict[str, int]
    note: str
    submitted_at: datetime
    submitted_by: str = Field(description="masked phone")
    revisions: list[RevisionOut] = Field(default_factory=list, description="earlier versions")


class DraftOut(Schema):
    day: date
    figures: Figures
    labels: dict[str, str]
    report: ReportOut | None = Field(description="what has been submitted for the day, if any")


class ReportIn(Schema):
    day: date
    figures: dict[str, Any] | None = Field(
        default=None, description="figures to adjust; the others are filled in automatically"
    )
    note: str = ""


class ScopeReport(Schema):
    revision: int
    figures: dict[str, int]
    note: str
    submitted_at: datetime


class ScopeEnterprise(Schema):
    id: int
    name: str
    district: str
    district_name: str
    department: str
    department_name: str


class ScopeRow(Schema):
    enterprise: ScopeEnterprise
    reported: bool
    report: ScopeReport | None


class ScopeTotals(Schema):
    enterprises: int
    reported: int
    not_reported: int


class ScopeOut(Schema):
    day: date
    totals: ScopeTotals
    offset: int
    limit: int
    items: list[ScopeRow]


class ScopeQuery(Schema):
    day: date | None = None
    reported: bool | None = Field(default=None, description="only those that have (not) reported")
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=1000)


# --- Authorities (declared first: a literal path before the enterprise-id paths) -----------------


@router.get(
    "/reports",
    url_name="enterprise_reports_overview",
    response={200: ScopeOut, 400: ErrorsOut, 403: ErrorOut},
    summary="Which approved enterprises in the admin's scope have or have not reported",
)
def reports_overview(request: HttpRequest, filters: Query[ScopeQuery]) -> dict:
    if not reports.is_oversight_admin(request.user):
        raise ApiError(
            403, "not_an_admin", _("仅市、城区（开发区）和行业主管部门管理员可以查看企业上报情况。")
        )
    day = filters.day or timezone.localdate()
    return {
        "day": day,
        "totals": reports.report_totals_in_scope(user=request.user, day=day),
        "offset": filters.offset,
        "limit": filters.limit,
        "items": reports.reports_in_scope(
            user=request.user,
            day=day,
            reported=filters.reported,
            offset=filters.offset,
            limit=filters.limit,
        ),
    }


# --- One enterprise (managers and co-managers) ---------------------------------------------------


@router.get(
    "/{int:enterprise_id}/status",
    url_name="enterprise_status",
    response={200: StatusOut, 404: ErrorOut},
    summary="Live status: employees by colour, today's check-in and scan completion, "
    "abnormal health, key monitored persons",
)
def status(request: HttpRequest, enterprise_id: int) -> dict:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    return reports.enterprise_status(enterprise=enterprise)


@router.get(
    "/{int:enterprise_id}/reports/draft",
    url_name="enterprise_report_draft",
    response={200: DraftOut, 400: ErrorsOut, 404: ErrorOut},
    summary="The day's report filled in automatically (default today), and what was submitted",
)
def draft(request: HttpRequest, enterprise_id: int, day: date | None = None) -> dict:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    day = day or timezone.localdate()
    report = reports.report_for(enterprise=enterprise, day=day)
    return {
        "day": day,
        "figures": reports.draft_report(enterprise=enterprise, day=day),
        "labels": {name: reports.figure_label(name) for name in reports.FIGURES},
        "report": reports.present_report(report) if report is not None else None,
    }


@router.post(
    "/{int:enterprise_id}/reports",
    response={200: ReportOut, 201: ReportOut, 400: ErrorsOut, 404: ErrorOut},
    summary="Submit the day's report (201); a later submission the same day corrects it (200), "
    "keeping the previous version",
)
def submit(request: HttpRequest, enterprise_id: int, payload: ReportIn) -> Status:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    report = reports.submit_report(
        actor=request.user,
        enterprise=enterprise,
        day=payload.day,
        figures=payload.figures,
        note=payload.note,
        ip=client_ip(request),
    )
    body = reports.present_report(report, list(report.revisions.order_by("revision")))
    return Status(201 if report.revision == 1 else 200, body)


@router.get(
    "/{int:enterprise_id}/reports",
    url_name="enterprise_reports",
    response={200: list[ReportOut], 404: ErrorOut},
    summary="The enterprise's reports, newest day first, each with its earlier revisions",
)
def history(request: HttpRequest, enterprise_id: int) -> list[dict]:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    return reports.report_history(enterprise=enterprise)
