"""Health attendance for managers: GET /api/v1/enterprises/{id}/attendance?day=YYYY-MM-DD.

Recording attendance is POST /api/v1/scans with "enterprise" (healthcode.codes.api), which
calls healthcode.enterprises.attendance — the same service as the scanner page."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.codes.api import AttendanceOut
from healthcode.enterprises import attendance as services
from healthcode.enterprises.choices import Verdict

router = Router()

# A day of a large enterprise can hold tens of thousands of records; pages keep answers small.
DEFAULT_LIMIT = 500
MAX_LIMIT = 2000


class AttendanceQuery(Schema):
    day: date | None = Field(None, description="YYYY-MM-DD; today (Asia/Shanghai) by default")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


class AttendanceDayOut(Schema):
    enterprise: int
    day: date
    count: int = Field(description="records of the day in all")
    abnormal_temperature: int = Field(description="records at or above the fever threshold")
    may_not_work: int = Field(description="records with the verdict may_not_work")
    records: list[AttendanceOut] = Field(description="newest first, limit/offset applied")


@router.get(
    "/{enterprise_id}/attendance",
    response={200: AttendanceDayOut, 400: ErrorsOut, 404: ErrorOut},
    summary="An enterprise's health attendance (健康考勤) of one day, for its managers",
)
def list_attendance(
    request: HttpRequest, enterprise_id: str, filters: Query[AttendanceQuery]
) -> dict:
    day = filters.day or timezone.localdate()
    enterprise, records = services.attendance_for_manager(request.user, enterprise_id, day)
    threshold = services.fever_threshold()
    page = records[filters.offset : filters.offset + filters.limit]
    return {
        "enterprise": enterprise.pk,
        "day": day,
        "count": records.count(),
        "abnormal_temperature": records.filter(temperature__gte=threshold).count(),
        "may_not_work": records.filter(verdict=Verdict.MAY_NOT_WORK).count(),
        "records": [services.present_attendance(a, threshold=threshold) for a in page],
    }
