"""API for official lists (官方名单) under /api/v1/admin — a thin door onto
healthcode.codes.official_lists, like the pages:

- `GET /official-lists/template?format=xlsx|csv`: the file template;
- `POST /official-lists` (multipart, field `file`): 201 the batch's counts and the unmatched
  rows (masked), or 400 with the file's errors and every bad row — nothing imported then;
- `GET /official-lists`: the batches, newest first;
- `GET /official-lists/{id}?state=&offset=&limit=`: one batch and its entries (masked, with
  the matched code's id);
- `POST /official-lists/entries/{id}/withdraw` (`{"reason"}` optional): take a person off.

City admins only: other admins get 403 `city_admin_only`, accounts without an admin role 403
`not_an_admin`, anonymous callers 401.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from healthcode.accounts.auth import client_ip
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.codes import official_lists as lists
from healthcode.enterprises.imports import ImportRejected

router = Router(tags=["admin: official lists"])

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_FILE_RESPONSES = {
    200: {
        "description": "The template, as an attachment (XLSX, or CSV in UTF-8 with a BOM).",
        "content": {lists.XLSX_CONTENT_TYPE: _BINARY, "text/csv": _BINARY},
    }
}


class UnmatchedRowOut(Schema):
    row: int = Field(description="the row number as the spreadsheet shows it (header = row 1)")
    name: str = Field(description="masked name")
    id_number: str = Field(description="masked ID number")
    kind: str
    listed_on: date


class ImportOut(Schema):
    id: int
    rows: int
    matched: int = Field(description="rows whose ID number has a health code (now re-derived)")
    unmatched: int = Field(description="rows without a code yet (linked when the person applies)")
    unmatched_rows: list[UnmatchedRowOut]


class RowErrorsOut(Schema):
    row: int = Field(description="the row number as the spreadsheet shows it (header = row 1)")
    errors: dict[str, list[str]] = Field(
        description="messages per field: name, id_number, kind, listed_on, note"
    )


class ImportErrorsOut(Schema):
    """400: nothing imported. `errors.file` says what is wrong with the file (unreadable,
    too large, imported before, wrong headers, or how many rows are bad); `rows` lists every
    bad row with its reasons (empty when the file itself was refused)."""

    errors: dict[str, list[str]]
    rows: list[RowErrorsOut] = Field(default_factory=list)


class BatchOut(Schema):
    id: int
    file_name: str
    sha256: str
    imported_at: datetime
    imported_by: str = Field(description="the importer's phone, masked")
    rows: int
    matched: int
    unmatched: int


class EntryOut(Schema):
    id: int
    kind: str
    kind_name: str
    name: str = Field(description="masked name")
    listed_on: date
    code: str | None = Field(description="the matched health code's id, or null")
    withdrawn_at: datetime | None


class BatchDetailOut(BatchOut):
    entries_total: int = Field(description="entries in the selected state")
    entries: list[EntryOut]


class EntryFilter(Schema):
    state: Literal["", "matched", "unmatched", "withdrawn"] = ""
    offset: int = Field(0, ge=0)
    limit: int = Field(200, ge=1, le=1000)


class WithdrawIn(Schema):
    reason: str = ""


@router.get(
    "/official-lists/template",
    response={200: None, 400: ErrorsOut, 401: ErrorOut, 403: ErrorOut},
    summary="The official-list file template (XLSX, or CSV in UTF-8 with a BOM)",
    openapi_extra={"responses": _FILE_RESPONSES},
)
def template(request: HttpRequest, format: Literal["xlsx", "csv"] = "xlsx") -> HttpResponse:
    lists.require_list_admin(request.user)
    return lists.template_response(format)


@router.post(
    "/official-lists",
    response={201: ImportOut, 400: ImportErrorsOut, 401: ErrorOut, 403: ErrorOut},
    summary="Import an official list (XLSX or CSV): all rows or none",
    description=(
        "Columns 姓名, 身份证号, 类别 (确诊病例/疑似病例/无症状感染者/密切接触者 or confirmed/"
        "suspected/asymptomatic/close_contact), 列入日期 (YYYY-MM-DD, not in the future), 备注 "
        "(optional). Any bad row (ID checksum, category, date, the same person and category "
        "twice) → 400 with `rows` and nothing imported; the same file twice → 400. Matched "
        "codes are re-derived at once (red, reason official_list). Limits: 20 MB, 100,000 rows."
    ),
)
def import_list(request: HttpRequest, file: File[UploadedFile]) -> Status:
    try:
        batch = lists.import_official_list(actor=request.user, file=file, ip=client_ip(request))
    except ImportRejected as exc:
        return Status(
            400,
            {
                "errors": exc.message_dict,
                "rows": [{"row": r.row, "errors": r.errors} for r in exc.rows],
            },
        )
    return Status(
        201,
        {
            "id": batch.pk,
            "rows": batch.rows,
            "matched": batch.matched,
            "unmatched": batch.unmatched,
            "unmatched_rows": [r.to_dict() for r in batch.unmatched_rows],  # type: ignore[attr-defined]
        },
    )


@router.get(
    "/official-lists",
    response={200: list[BatchOut], 401: ErrorOut, 403: ErrorOut},
    summary="The imported official lists, newest first",
)
def batches(request: HttpRequest) -> list[dict]:
    return [lists.present_batch(b) for b in lists.batches_for(request.user)[:500]]


@router.get(
    "/official-lists/{int:batch_id}",
    response={200: BatchDetailOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="One imported list and its entries (masked; the matched code's id)",
)
def batch_detail(request: HttpRequest, batch_id: int, filters: Query[EntryFilter]) -> dict:
    batch = lists.batch_for(request.user, batch_id)
    entries = lists.entries_of(batch, filters.state)
    page = entries[filters.offset : filters.offset + filters.limit]
    return {
        **lists.present_batch(batch),
        "entries_total": entries.count(),
        "entries": [lists.present_entry(e) for e in page],
    }


@router.post(
    "/official-lists/entries/{int:entry_id}/withdraw",
    response={
        200: EntryOut,
        400: ErrorOut | ErrorsOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="Withdraw one entry (a person listed by mistake); the code is re-derived",
)
def withdraw(request: HttpRequest, entry_id: int, body: WithdrawIn | None = None) -> dict:
    entry = lists.entry_for(request.user, entry_id)
    entry = lists.withdraw_entry(
        actor=request.user,
        entry=entry,
        reason=body.reason if body is not None else "",
        ip=client_ip(request),
    )
    entry = type(entry).objects.select_related("code").get(pk=entry.pk)
    return lists.present_entry(entry)
