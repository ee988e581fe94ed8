"""API of the roster (花名册) and its exports, under /api/v1/admin/…: thin doors onto
healthcode.backoffice.roster and .roster_export.

- `GET /roster?district=&color=&enterprise=&person=&returned_to_work=&returned_from_elsewhere=
  &arrival_from=&arrival_to=&industry=&department=&sort=&page=&page_size=&unmask=`: one page
  of the roster (the SPEC §6 columns), masked unless the role may unmask and `unmask=1`;
- `GET /roster/export?format=xlsx|csv&…`: the file at once (up to 50,000 rows) or 202
  `{"job": {...}}` for a background export;
- `POST /roster/export-jobs` `{"format", filters…, "unmask"}`: always a background export (202);
- `GET /roster/stats-export?format=&…`: codes by colour × district for the filters;
- `GET /jobs/{id}`: a job's progress, `GET /jobs/{id}/download`: its file — the requester's
  own jobs only (404 for anyone else).

The roster is for city, district / development-zone and industry-department admins (403 for
reviewers and accounts without a back-office role, 401 without a back-office login); each sees
its own scope only. Bad filters give 400 naming the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from healthcode.accounts.auth import client_ip
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.backoffice import roster, roster_export
from healthcode.enterprises import exports
from healthcode.jobs.models import Job
from healthcode.jobs.services import present_job

router = Router(tags=["admin: roster"])

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_FILE = {
    "description": "The file, as an attachment (XLSX, or CSV in UTF-8 with a BOM); its first "
    "row names the exporter (masked), the time and the filters.",
    "content": {exports.XLSX_CONTENT_TYPE: _BINARY, "text/csv": _BINARY},
}
ERRORS: dict[int, Any] = {400: ErrorsOut, 401: ErrorOut, 403: ErrorOut}


class RosterQuery(Schema):
    """The roster's filters, all optional. Invalid values give 400 naming the parameter."""

    district: str | None = Field(None, description="a Nanning district or zone code, e.g. 450103")
    color: str | None = Field(None, description='"green", "yellow" or "red"')
    enterprise: str | None = Field(None, description="企业名称 contains")
    person: str | None = Field(
        None, description="name contains, or exact phone, or exact ID number (blind index)"
    )
    returned_to_work: str | None = Field(None, description='"1" (yes) or "0" (no)')
    returned_from_elsewhere: str | None = Field(None, description='"1" (yes) or "0" (no)')
    arrival_from: str | None = Field(None, description="arrival on or after, YYYY-MM-DD")
    arrival_to: str | None = Field(None, description="arrival on or before, YYYY-MM-DD")
    industry: str | None = Field(None, description="employees of a GB/T 4754 section (A–T)")
    department: str | None = Field(None, description="employees of a department's enterprises")
    sort: str | None = Field(
        None, description="name, color, district, arrival or updated; prefix - for descending"
    )
    unmask: str | None = Field(None, description='"1": unmasked, if the role may (audited)')


class PageQuery(RosterQuery):
    page: str | None = Field(None, description="1-based page number")
    page_size: str | None = Field(None, description="rows per page, 1–100 (default 50)")


class ExportQuery(RosterQuery):
    format: str = Field("xlsx", description='"xlsx" or "csv"')


class ExportJobIn(Schema):
    format: str = Field("xlsx", description='"xlsx" or "csv"')
    district: str | None = None
    color: str | None = None
    enterprise: str | None = None
    person: str | None = None
    returned_to_work: bool | str | None = None
    returned_from_elsewhere: bool | str | None = None
    arrival_from: str | None = None
    arrival_to: str | None = None
    industry: str | None = None
    department: str | None = None
    sort: str | None = None
    unmask: bool = False


class ColumnOut(Schema):
    key: str
    label: str


class RosterRowOut(Schema):
    id: str = Field(description="the code's public id")
    name: str = Field(description="用户 (masked unless unmasked)")
    color: str
    color_label: str = Field(description="用户健康码状态")
    address: str = Field(description="用户居住地址")
    district: str
    district_name: str
    phone: str = Field(description="联系电话 (masked unless unmasked)")
    returned_to_work: bool = Field(description="是否复工人员")
    enterprise: str = Field(
        description="企业名称: approved enterprises of active employments, else the declared employer"
    )
    returned_from_elsewhere: bool = Field(description="是否外地返回")
    return_region: str | None
    return_region_name: str = Field(description="返回城市")
    arrival_date: date | None = Field(description="到邕时间")
    updated_at: datetime


class RosterPageOut(Schema):
    columns: list[ColumnOut] = Field(description="the SPEC §6 columns, in order")
    count: int
    page: int
    page_size: int
    pages: int
    masked: bool
    filters: dict[str, str]
    results: list[RosterRowOut]


class JobOut(Schema):
    id: int
    kind: str
    status: str = Field(description='"queued", "running", "done" or "failed"')
    total: int
    done: int
    percent: int
    result: dict[str, Any]
    has_file: bool
    error: str
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None = Field(description="where the file is, once done")


class JobEnvelope(Schema):
    job: JobOut


def job_out(job: Job) -> dict[str, Any]:
    data = present_job(job)
    data["download_url"] = (
        reverse("api:admin_job_download", kwargs={"job_id": job.pk}) if data["has_file"] else None
    )
    return data


def _params(query: Schema) -> dict[str, Any]:
    return {k: v for k, v in query.dict().items() if v is not None}


@router.get(
    "/roster",
    response={200: RosterPageOut, **ERRORS},
    summary="One page of the roster (花名册), filtered and sorted",
)
def roster_page(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    asked = roster.parse_request(_params(query))
    page = roster.roster_page(user=request.user, request=asked, ip=client_ip(request))
    return {
        "columns": [{"key": key, "label": str(label)} for key, label in roster.COLUMNS],
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
        "pages": page.pages,
        "masked": page.masked,
        "filters": page.filters.as_params(),
        "results": [row.as_dict() for row in page.rows],
    }


@router.get(
    "/roster/export",
    response={200: None, 202: JobEnvelope, **ERRORS},
    summary="Export the filtered roster: the file, or 202 and a background job when large",
    openapi_extra={"responses": {200: _FILE}},
)
def roster_export_file(request: HttpRequest, query: Query[ExportQuery]) -> Any:
    params = _params(query)
    fmt = params.pop("format", "xlsx")
    asked = roster.parse_request(params)
    outcome = roster_export.request_roster_export(
        actor=request.user,
        filters=asked.filters,
        fmt=fmt,
        unmask=asked.unmask,
        ip=client_ip(request),
    )
    if isinstance(outcome, Job):
        return Status(202, {"job": job_out(outcome)})
    return exports.response(outcome)


@router.post(
    "/roster/export-jobs",
    response={202: JobEnvelope, **ERRORS},
    summary="Export the filtered roster as a background job (always)",
)
def roster_export_job(request: HttpRequest, body: ExportJobIn) -> Any:
    params = _params(body)
    fmt = params.pop("format", "xlsx")
    asked = roster.parse_request(params)
    job = roster_export.start_roster_export_job(
        actor=request.user,
        filters=asked.filters,
        fmt=fmt,
        unmask=asked.unmask,
        ip=client_ip(request),
    )
    job.refresh_from_db()  # the immediate task backend may have run it already
    return Status(202, {"job": job_out(job)})


@router.get(
    "/roster/stats-export",
    response={200: None, **ERRORS},
    summary="Export codes by colour × district for the roster's filters (XLSX or CSV)",
    openapi_extra={"responses": {200: _FILE}},
)
def roster_stats_export(request: HttpRequest, query: Query[ExportQuery]) -> HttpResponseBase:
    params = _params(query)
    fmt = params.pop("format", "xlsx")
    asked = roster.parse_request(params)
    export = roster_export.export_roster_stats(
        actor=request.user, filters=asked.filters, fmt=fmt, ip=client_ip(request)
    )
    return exports.response(export)


@router.get(
    "/jobs/{int:job_id}",
    response={200: JobEnvelope, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="A background job's progress (the requester's own jobs only)",
    url_name="admin_job",
)
def job_status(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return {"job": job_out(roster_export.job_of_requester(request.user, job_id))}


@router.get(
    "/jobs/{int:job_id}/download",
    response={200: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="The file of a finished job (the requester's own jobs only)",
    url_name="admin_job_download",
    openapi_extra={"responses": {200: _FILE}},
)
def job_file(request: HttpRequest, job_id: int) -> HttpResponseBase:
    return roster_export.job_download(user=request.user, job_id=job_id, ip=client_ip(request))
