"""Pages for bulk import of employees and the enterprise's exports. Thin doors onto
healthcode.enterprises.imports and .exports, like the API.

- `/enterprises/<id>/import`: upload an XLSX or CSV; a table of every bad row (`#import-errors`)
  or the summary (`#import-result`); links to the templates;
- `/enterprises/<id>/import/template?format=xlsx|csv`: the template;
- `/enterprises/<id>/exports`: the four downloads;
- `/enterprises/<id>/exports/employees?format=` and `/exports/attendance?format=&from=&to=`.

Managers and co-managers of the enterprise only; anyone else gets 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import enterprise_managed_by
from healthcode.enterprises import exports, imports
from healthcode.lib.errors import ApiError

# The page lists this many bad rows; the API lists them all.
ROWS_SHOWN = 1000


def _row_items(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    items = []
    for key, messages in errors.items():
        label = "" if key == "__all__" else imports.column_label(key)
        items.extend((label, message) for message in messages)
    return items


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest, enterprise_id: int) -> TemplateResponse:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    context: dict[str, Any] = {
        "enterprise": enterprise,
        "max_rows": f"{imports.MAX_ROWS:,}",
        "max_mb": imports.MAX_BYTES // (1024 * 1024),
        "columns": imports.COLUMNS,
    }
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["file_errors"] = [_("请选择要上传的 XLSX 或 CSV 文件。")]
            status = 400
        else:
            try:
                context["result"] = imports.import_employees(
                    actor=request.user, enterprise=enterprise, file=upload, ip=client_ip(request)
                )
            except imports.ImportRejected as exc:
                context["file_errors"] = exc.message_dict.get("file", [])
                context["bad_rows"] = [
                    {"row": r.row, "items": _row_items(r.errors)} for r in exc.rows[:ROWS_SHOWN]
                ]
                context["bad_rows_total"] = len(exc.rows)
                context["bad_rows_hidden"] = max(0, len(exc.rows) - ROWS_SHOWN)
                status = 400
            except ApiError as exc:  # the enterprise is not approved yet
                context["file_errors"] = [exc.detail]
                status = exc.status
    return TemplateResponse(request, "enterprises/io_import.html", context, status=status)


@login_required
@require_GET
def template_download(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    enterprise_managed_by(request.user, enterprise_id)
    return imports.template_response("csv" if request.GET.get("format") == "csv" else "xlsx")


def _exports_context(enterprise: Any, **extra: Any) -> dict[str, Any]:
    return {"enterprise": enterprise, "errors": {}, "start": "", "end": "", **extra}


@login_required
@require_GET
def exports_page(request: HttpRequest, enterprise_id: int) -> TemplateResponse:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    return TemplateResponse(request, "enterprises/io_exports.html", _exports_context(enterprise))


def _format(request: HttpRequest) -> str:
    return request.GET.get("format", "xlsx") or "xlsx"


@login_required
@require_GET
def export_employees(request: HttpRequest, enterprise_id: int) -> HttpResponseBase:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    try:
        export = exports.export_employees(
            actor=request.user, enterprise=enterprise, fmt=_format(request), ip=client_ip(request)
        )
    except ValidationError as exc:
        return TemplateResponse(
            request,
            "enterprises/io_exports.html",
            _exports_context(enterprise, errors=exc.message_dict),
            status=400,
        )
    return exports.response(export)


def _day(raw: str, field: str, errors: dict[str, list[str]]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[field] = [_("日期格式应为 YYYY-MM-DD，例如 2020-02-21。")]
        return None


@login_required
@require_GET
def export_attendance(request: HttpRequest, enterprise_id: int) -> HttpResponseBase:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    raw_start, raw_end = request.GET.get("from", ""), request.GET.get("to", "")
    errors: dict[str, list[str]] = {}
    start = _day(raw_start, "from", errors)
    end = _day(raw_end, "to", errors)
    if not errors:
        try:
            export = exports.export_attendance(
                actor=request.user,
                enterprise=enterprise,
                fmt=_format(request),
                start=start,
                end=end,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            return exports.response(export)
    return TemplateResponse(
        request,
        "enterprises/io_exports.html",
        _exports_context(enterprise, errors=errors, start=raw_start, end=raw_end),
        status=400,
    )


urlpatterns = [
    path("<int:enterprise_id>/import", import_page, name="import"),
    path("<int:enterprise_id>/import/template", template_download, name="import_template"),
    path("<int:enterprise_id>/exports", exports_page, name="exports"),
    path("<int:enterprise_id>/exports/employees", export_employees, name="export_employees"),
    path("<int:enterprise_id>/exports/attendance", export_attendance, name="export_attendance"),
]
