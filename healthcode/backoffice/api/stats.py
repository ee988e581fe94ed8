"""API of the statistics dashboard (统计), under /api/v1/admin/stats/…: thin doors onto
healthcode.backoffice.statistics, which scopes every figure by the permissions module.

Any account with a back-office role may call them (the router's `admin_auth`: 401 without a
back-office token or verified session, 403 `not_an_admin` without a role); each sees the
figures of its own scope only — a reviewer those of the district it reviews. Bad parameters
give 400 naming the parameter: `days` must be 1–90, `day` a date YYYY-MM-DD.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.backoffice import statistics

router = Router(tags=["admin: statistics"])

ERRORS = {400: ErrorsOut, 401: ErrorOut, 403: ErrorOut}


# --- Schemas -------------------------------------------------------------------------------------


class ColorOut(Schema):
    code: str = Field(description='"green", "yellow" or "red"')
    label: str = Field(description="the colour's name in the request's language")


class ColorTotals(Schema):
    green: int
    yellow: int
    red: int
    total: int


class DistrictColorRow(ColorTotals):
    district: str = Field(description="6-character district or development-zone code")
    label: str = Field(description="short name, for a chart axis")
    name: str = Field(description="full name")


class ByDistrictOut(Schema):
    colors: list[ColorOut]
    rows: list[DistrictColorRow]
    totals: ColorTotals


class IndustryColorRow(ColorTotals):
    industry: str = Field(description="GB/T 4754 section letter (A–T)")
    name: str
    department: str = Field(description="code of the supervising department")
    department_name: str


class ByIndustryOut(Schema):
    colors: list[ColorOut]
    rows: list[IndustryColorRow]
    totals: ColorTotals = Field(
        description="sums of the rows: a code employed in two sections counts in both"
    )


class ColorCounts(Schema):
    green: int
    yellow: int
    red: int


class TrendRow(ColorCounts):
    day: date
    changes: ColorCounts = Field(description="changes to each colour that day (new codes too)")


class TrendOut(Schema):
    colors: list[ColorOut]
    days: int
    method: str = Field(
        description='"end_of_day": codes of each colour at the end of each day, reconstructed '
        "from today's counts and the colour-change history"
    )
    rows: list[TrendRow]


class CheckinRow(Schema):
    day: date
    codes: int = Field(description="codes in scope that existed at the end of the day")
    checked_in: int
    percent: float | None = Field(description="checked_in / codes × 100, null when codes is 0")


class CheckinsOut(Schema):
    days: int
    rows: list[CheckinRow]


class ReportRow(Schema):
    district: str
    label: str
    name: str
    reported: int
    not_reported: int
    total: int = Field(description="approved enterprises in scope in the district")
    percent: float | None


class ReportTotals(Schema):
    reported: int
    not_reported: int
    total: int
    percent: float | None


class ReportsOut(Schema):
    day: date
    rows: list[ReportRow]
    totals: ReportTotals


# --- Calls ---------------------------------------------------------------------------------------


@router.get(
    "/stats/colour-by-district",
    url_name="admin_stats_by_district",
    response={200: ByDistrictOut, **ERRORS},
    summary="Codes in scope by district and colour",
)
def colour_by_district(request: HttpRequest) -> dict[str, Any]:
    return statistics.colour_by_district(request.user)


@router.get(
    "/stats/colour-by-industry",
    url_name="admin_stats_by_industry",
    response={200: ByIndustryOut, **ERRORS},
    summary="Codes in scope employed at approved enterprises, by industry section and colour",
)
def colour_by_industry(request: HttpRequest) -> dict[str, Any]:
    return statistics.colour_by_industry(request.user)


@router.get(
    "/stats/trend",
    url_name="admin_stats_trend",
    response={200: TrendOut, **ERRORS},
    summary="Codes of each colour at the end of each of the last `days` days (1–90, default 30)",
)
def trend(request: HttpRequest, days: int = statistics.TREND_DAYS) -> dict[str, Any]:
    return statistics.daily_trend(request.user, days)


@router.get(
    "/stats/checkins",
    url_name="admin_stats_checkins",
    response={200: CheckinsOut, **ERRORS},
    summary="Share of codes in scope checked in, each of the last `days` days (1–90, default 14)",
)
def checkins(request: HttpRequest, days: int = statistics.CHECKIN_DAYS) -> dict[str, Any]:
    return statistics.checkin_completion(request.user, days)


@router.get(
    "/stats/reports",
    url_name="admin_stats_reports",
    response={200: ReportsOut, **ERRORS},
    summary="Approved enterprises in scope that have / have not submitted the day's report "
    "(default today), by district",
)
def reports(request: HttpRequest, day: date | None = None) -> dict[str, Any]:
    return statistics.report_submission(request.user, day)
