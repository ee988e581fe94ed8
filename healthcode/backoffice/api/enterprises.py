"""Enterprise oversight in the API: `GET /api/v1/admin/enterprises?status=&day=&offset=&limit=`
— the enterprises in the admin's scope with approval status, the day's report and employees by
colour (healthcode.backoffice.oversight, the same data as the page). City, district and
industry admins; reviewers 403 `not_an_admin`. Approving stays
`POST /api/v1/enterprises/{id}/decision`."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from healthcode.accounts.permissions import require_oversight
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.backoffice import oversight

router = Router()


class OversightQuery(Schema):
    status: str | None = Field(None, description="pending | approved | rejected; all when absent")
    day: date | None = Field(None, description="the report day; today when absent")
    offset: int = 0
    limit: int = oversight.PAGE_SIZE


class EmployeeColors(Schema):
    employees: int = Field(description="active employees")
    green: int
    yellow: int
    red: int
    unlinked: int = Field(description="invitations not linked to a code yet")


class OversightReport(Schema):
    revision: int
    figures: dict[str, int]
    note: str
    submitted_at: datetime


class OversightItem(Schema):
    id: int
    name: str
    credit_code: str
    district: str
    district_name: str
    department: str
    department_name: str
    status: str
    status_label: str
    created_at: datetime
    decided_at: datetime | None
    reported: bool = Field(description="whether a daily report exists for the day")
    report: OversightReport | None
    colors: EmployeeColors


class ByStatus(Schema):
    pending: int
    approved: int
    rejected: int


class OversightOut(Schema):
    day: date
    status: str | None
    offset: int
    limit: int
    total: int = Field(description="enterprises matching the status filter in scope")
    by_status: ByStatus
    items: list[OversightItem]


@router.get(
    "/enterprises",
    response={200: OversightOut, 400: ErrorsOut, 401: ErrorOut, 403: ErrorOut},
    summary="Enterprises in the admin's scope: approval status, the day's report, employees "
    "by colour",
)
def enterprises(request: HttpRequest, filters: Query[OversightQuery]) -> dict:
    require_oversight(request.user)
    return oversight.enterprise_overview(
        user=request.user,
        day=filters.day or timezone.localdate(),
        status=filters.status,
        offset=filters.offset,
        limit=filters.limit,
    )
