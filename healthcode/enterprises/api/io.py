"""API for bulk import of employees and the enterprise's exports (/api/v1/enterprises/…).

- `GET /{id}/employees/template?format=xlsx|csv`: the import template;
- `POST /{id}/employees/import` (multipart, field `file`): 201 the counts, or 400 with the file's
  errors and every bad row — nothing imported then;
- `GET /{id}/exports/employees?format=` and `GET /{id}/exports/attendance?format=&from=&to=`:
  the roster and the attendance records as XLSX or CSV (streamed).

All of them are for the enterprise's managers and co-managers; for anyone else the enterprise
does not exist (404), and anonymous callers get 401.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import enterprise_managed_by
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.enterprises import exports, imports

router = Router()

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_FILE_RESPONSES = {
    200: {
        "description": "The file, as an attachment (XLSX, or CSV in UTF-8 with a BOM).",
        "content": {exports.XLSX_CONTENT_TYPE: _BINARY, "text/csv": _BINARY},
    }
}


class ImportOut(Schema):
    imported: int = Field(description="employees added")
    linked: int = Field(description="of which linked to a health code (name and phone match)")
    invited: int = Field(description="of which kept as invitations (no code with that phone yet)")


class RowErrorsOut(Schema):
    row: int = Field(description="the row number as the spreadsheet shows it (header = row 1)")
    errors: dict[str, list[str]] = Field(
        description="messages per field: name, phone, department_name, returned_to_work, returned_on"
    )


class ImportErrorsOut(Schema):
    """400: nothing imported. `errors.file` says what is wrong with the file (unreadable,
    too large, wrong headers naming the missing columns, or how many rows are bad); `rows`
    lists every bad row with its reasons (empty when the file itself was refused)."""

    errors: dict[str, list[str]]
    rows: list[RowErrorsOut] = Field(default_factory=list)


class AttendanceFilter(Schema):
    format: Literal["xlsx", "csv"] = "xlsx"
    start: date | None = Field(None, alias="from", description="first day, YYYY-MM-DD")
    end: date | None = Field(None, alias="to", description="last day (inclusive), YYYY-MM-DD")


@router.get(
    "/{int:enterprise_id}/employees/template",
    response={200: None, 400: ErrorsOut, 404: ErrorOut},
    summary="The employee import template (XLSX, or CSV in UTF-8 with a BOM)",
    openapi_extra={"responses": _FILE_RESPONSES},
)
def template(
    request: HttpRequest, enterprise_id: int, format: Literal["xlsx", "csv"] = "xlsx"
) -> HttpResponse:
    enterprise_managed_by(request.user, enterprise_id)
    return imports.template_response(format)


@router.post(
    "/{int:enterprise_id}/employees/import",
    response={201: ImportOut, 400: ImportErrorsOut, 403: ErrorOut, 404: ErrorOut},
    summary="Import employees from an XLSX or CSV file: all rows or none",
    description=(
        "Every row is checked as adding one employee is (name and phone, the phone's health "
        "code, department, returned-to-work flag and date); phones repeated in the file are "
        "errors too. Any bad row → 400 with `rows: [{row, errors: {field: [message]}}]` and "
        "nothing imported. Limits: 5 MB, 20,000 rows. The enterprise must be approved (403)."
    ),
)
def import_file(request: HttpRequest, enterprise_id: int, file: File[UploadedFile]) -> Status:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    try:
        result = imports.import_employees(
            actor=request.user, enterprise=enterprise, file=file, ip=client_ip(request)
        )
    except imports.ImportRejected as exc:
        return Status(
            400,
            {
                "errors": exc.message_dict,
                "rows": [{"row": r.row, "errors": r.errors} for r in exc.rows],
            },
        )
    return Status(
        201, {"imported": result.imported, "linked": result.linked, "invited": result.invited}
    )


@router.get(
    "/{int:enterprise_id}/exports/employees",
    response={200: None, 400: ErrorsOut, 404: ErrorOut},
    summary="Export the roster of active employees (XLSX or CSV)",
    openapi_extra={"responses": _FILE_RESPONSES},
)
def export_employees(
    request: HttpRequest, enterprise_id: int, format: Literal["xlsx", "csv"] = "xlsx"
) -> HttpResponseBase:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    export = exports.export_employees(
        actor=request.user, enterprise=enterprise, fmt=format, ip=client_ip(request)
    )
    return exports.response(export)


@router.get(
    "/{int:enterprise_id}/exports/attendance",
    response={200: None, 400: ErrorsOut, 404: ErrorOut},
    summary="Export the health-attendance records, optionally between two days (XLSX or CSV)",
    openapi_extra={"responses": _FILE_RESPONSES},
)
def export_attendance(
    request: HttpRequest, enterprise_id: int, filters: Query[AttendanceFilter]
) -> HttpResponseBase:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    export = exports.export_attendance(
        actor=request.user,
        enterprise=enterprise,
        fmt=filters.format,
        start=filters.start,
        end=filters.end,
        ip=client_ip(request),
    )
    return exports.response(export)
