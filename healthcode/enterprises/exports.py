"""Exports for an enterprise's managers (企业数据导出): the employee roster and the health
attendance records, as XLSX or CSV.

Both are read from the database in chunks (`.iterator(chunk_size=…)`) and written as they are
read: the XLSX by XlsxWriter in constant-memory mode into a temporary file that is then sent,
the CSV generated row by row into a StreamingHttpResponse. The first row of each file names the
enterprise, the exporter (masked) and the time. Phones are shown as the managers' own staff list
shows them (full, these are their employees); people scanned who are not employees here keep
their masked name and no phone, as on the attendance page. Every export is audited: who, what,
the filters and the number of rows.
"""

from __future__ import annotations

import codecs
import csv
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import enterprise_managed_by
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.codes.choices import Color, Symptom
from healthcode.enterprises.choices import Verdict
from healthcode.enterprises.models import Attendance, Employee, Enterprise
from healthcode.lib.masking import mask_name, mask_phone

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")
CHUNK_SIZE = 2000
CSV_ROWS_PER_CHUNK = 500
# Cells starting with these are formulas to Excel: a name like "=HYPERLINK(...)" typed into an
# import must not run on the manager's computer (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Export:
    """A prepared export: its file name and rows, ready to be sent by `response()`.

    `header` and `marker` are the first two rows; `rows` yields each data row as a list of
    plain values (str, int, Decimal, date, datetime) and is consumed once. The back office's
    roster exports (healthcode.backoffice.roster_export) use the same writers."""

    kind: str
    format: str
    filename: str
    marker: str
    header: list[str]
    rows: Iterator[list[Any]]
    widths: list[int]
    # The worksheet's name; the enterprise exports leave it empty (named by `kind`).
    sheet: str = ""


# --- Rows ---------------------------------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return _("是") if value else _("否")


def _local(moment: datetime) -> datetime:
    """A naive local time (Asia/Shanghai) as spreadsheets show it."""
    return timezone.localtime(moment).replace(tzinfo=None)


def _color_label(color: str | None) -> str:
    if not color:
        return _("未关联健康码（邀请中）")
    return str(Color(color).label) if color in Color.values else color


def employee_rows(enterprise: Enterprise) -> tuple[list[str], list[int], Iterator[list[Any]], int]:
    """The roster of active employees: header, column widths, rows, and their number."""
    header = [
        _("姓名"),
        _("手机号"),
        _("部门"),
        _("是否复工人员"),
        _("复工日期"),
        _("健康码状态"),
        _("扫码权限"),
        _("添加时间"),
    ]
    widths = [12, 14, 16, 12, 12, 20, 10, 20]
    queryset = (
        Employee.objects.filter(enterprise=enterprise, active=True)
        .order_by("pk")
        .values_list(
            "name",
            "phone",
            "department_name",
            "returned_to_work",
            "returned_on",
            "code__color",
            "can_scan",
            "added_at",
        )
    )
    count = queryset.count()

    def rows() -> Iterator[list[Any]]:
        for (
            name,
            phone,
            dept,
            returned,
            returned_on,
            color,
            can_scan,
            added_at,
        ) in queryset.iterator(chunk_size=CHUNK_SIZE):
            yield [
                name,
                phone,
                dept,
                _yes_no(returned),
                returned_on,
                _color_label(color),
                _yes_no(can_scan),
                _local(added_at),
            ]

    return header, widths, rows(), count


def attendance_queryset(enterprise: Enterprise, start: date | None, end: date | None) -> Any:
    """The enterprise's attendance records between two days (inclusive), oldest first."""
    queryset = Attendance.objects.filter(enterprise=enterprise)
    if start is not None:
        queryset = queryset.filter(day__gte=start)
    if end is not None:
        queryset = queryset.filter(day__lte=end)
    return queryset.order_by("at", "pk")


def attendance_rows(
    enterprise: Enterprise, start: date | None, end: date | None
) -> tuple[list[str], list[int], Iterator[list[Any]], int]:
    """The attendance records: header, column widths, rows, and their number."""
    from healthcode.enterprises.attendance import fever_threshold

    header = [
        _("扫码时间"),
        _("日期"),
        _("姓名"),
        _("手机号"),
        _("部门"),
        _("是否本企业员工"),
        _("健康码状态"),
        _("结论"),
        _("体温（℃）"),
        _("体温异常"),
        _("症状"),
        _("扫码人员"),
    ]
    widths = [20, 12, 12, 14, 16, 14, 10, 12, 10, 10, 20, 16]
    queryset = attendance_queryset(enterprise, start, end).values_list(
        "at",
        "day",
        "employee__name",
        "employee__phone",
        "employee__department_name",
        "code__name",
        "color",
        "verdict",
        "temperature",
        "symptoms",
        "scanner__phone",
    )
    count = queryset.count()
    threshold = fever_threshold()
    symptom_labels = {value: str(label) for value, label in Symptom.choices}
    verdict_labels = {value: str(label) for value, label in Verdict.choices}
    # Scanners are employees (or managers): name them as the staff list does, else mask.
    scanner_names = dict(
        Employee.objects.filter(enterprise=enterprise, can_scan=True).values_list("phone", "name")
    )

    def rows() -> Iterator[list[Any]]:
        for (
            at,
            day,
            employee_name,
            employee_phone,
            dept,
            code_name,
            color,
            verdict,
            temperature,
            symptoms,
            scanner_phone,
        ) in queryset.iterator(chunk_size=CHUNK_SIZE):
            here = employee_name is not None
            yield [
                _local(at),
                day,
                employee_name if here else mask_name(code_name or ""),
                employee_phone if here else "",
                (dept or "") if here else "",
                _yes_no(here),
                _color_label(color),
                verdict_labels.get(verdict, verdict),
                Decimal(temperature),
                _yes_no(Decimal(temperature) >= threshold),
                "、".join(symptom_labels.get(s, s) for s in symptoms or []) or _("无"),
                scanner_names.get(scanner_phone)
                or (mask_phone(scanner_phone) if scanner_phone else ""),
            ]

    return header, widths, rows(), count


# --- The services -------------------------------------------------------------------------------


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError({"format": [_("导出格式须为 xlsx 或 csv。")]})
    return fmt


def _marker(actor: Any, enterprise: Enterprise, now: datetime, extra: str = "") -> str:
    text = _("企业：%(name)s；导出人：%(who)s；导出时间：%(at)s") % {
        "name": enterprise.name,
        "who": mask_phone(getattr(actor, "phone", "") or ""),
        "at": f"{timezone.localtime(now):%Y-%m-%d %H:%M:%S}",
    }
    return f"{text}；{extra}" if extra else text


def _filename(kind: str, enterprise: Enterprise, now: datetime, fmt: str) -> str:
    return f"{kind}-{enterprise.pk}-{timezone.localtime(now):%Y%m%d-%H%M%S}.{fmt}"


def export_employees(
    *, actor: Any, enterprise: Enterprise, fmt: str, ip: str | None = None
) -> Export:
    """The roster of the enterprise's active employees (员工花名册) as XLSX or CSV, for its
    managers and co-managers (404 for anyone else). Audited with the number of rows."""
    enterprise = enterprise_managed_by(actor, enterprise.pk)
    fmt = _check_format(fmt)
    now = timezone.now()
    header, widths, rows, count = employee_rows(enterprise)
    audit(
        action=AuditAction.EXPORT,
        actor=actor,
        subject=enterprise,
        ip=ip,
        detail={"what": "employees", "format": fmt, "filters": {"active": True}, "rows": count},
    )
    return Export(
        kind="employees",
        format=fmt,
        filename=_filename("employees", enterprise, now, fmt),
        marker=_marker(actor, enterprise, now),
        header=header,
        rows=rows,
        widths=widths,
    )


def export_attendance(
    *,
    actor: Any,
    enterprise: Enterprise,
    fmt: str,
    start: date | None = None,
    end: date | None = None,
    ip: str | None = None,
) -> Export:
    """The enterprise's health-attendance records (健康考勤), optionally between two days
    (inclusive), as XLSX or CSV, for its managers and co-managers (404 for anyone else).
    A range that ends before it starts is refused on "to". Audited with the filters and the
    number of rows."""
    enterprise = enterprise_managed_by(actor, enterprise.pk)
    fmt = _check_format(fmt)
    if start is not None and end is not None and end < start:
        raise ValidationError({"to": [_("结束日期不能早于开始日期。")]})
    now = timezone.now()
    header, widths, rows, count = attendance_rows(enterprise, start, end)
    filters = {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
    }
    audit(
        action=AuditAction.EXPORT,
        actor=actor,
        subject=enterprise,
        ip=ip,
        detail={"what": "attendance", "format": fmt, "filters": filters, "rows": count},
    )
    period = _("日期范围：%(start)s 至 %(end)s") % {
        "start": filters["from"] or _("最早"),
        "end": filters["to"] or _("最近"),
    }
    return Export(
        kind="attendance",
        format=fmt,
        filename=_filename("attendance", enterprise, now, fmt),
        marker=_marker(actor, enterprise, now, period),
        header=header,
        rows=rows,
        widths=widths,
    )


# --- Writing and sending ------------------------------------------------------------------------


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _safe_text(value)
    return value


class _Echo:
    """A file-like object whose write() hands the text back, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(export: Export) -> Iterator[bytes]:
    """The CSV file, UTF-8 with a BOM (so Excel reads Chinese), a few hundred rows a chunk."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield codecs.BOM_UTF8 + (
        writer.writerow([_safe_text(export.marker)]) + writer.writerow(export.header)
    ).encode("utf-8")
    chunk: list[str] = []
    for row in export.rows:
        chunk.append(writer.writerow([_csv_value(v) for v in row]))
        if len(chunk) >= CSV_ROWS_PER_CHUNK:
            yield "".join(chunk).encode("utf-8")
            chunk = []
    if chunk:
        yield "".join(chunk).encode("utf-8")


def write_xlsx(export: Export, out: IO[bytes]) -> int:
    """Write the XLSX into `out` row by row (XlsxWriter's constant-memory mode keeps one row
    in memory). Returns the number of data rows written."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
    workbook.set_properties({"title": export.marker, "comments": export.marker})
    bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF5", "border": 1})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    number = workbook.add_format({"num_format": "0.0"})
    sheet = workbook.add_worksheet(
        export.sheet or (_("员工花名册") if export.kind == "employees" else _("健康考勤"))
    )
    for index, width in enumerate(export.widths):
        sheet.set_column(index, index, width)
    sheet.write_string(0, 0, export.marker)
    for index, title in enumerate(export.header):
        sheet.write_string(1, index, title, bold)
    sheet.freeze_panes(2, 0)
    writers: dict[type, Callable[[int, int, Any], Any]] = {
        str: lambda r, c, v: sheet.write_string(r, c, v),
        datetime: lambda r, c, v: sheet.write_datetime(r, c, v, moment),
        date: lambda r, c, v: sheet.write_datetime(r, c, v, day),
        Decimal: lambda r, c, v: sheet.write_number(r, c, v, number),
        int: lambda r, c, v: sheet.write_number(r, c, v),
    }
    written = 0
    for row_index, row in enumerate(export.rows, start=2):
        for col, value in enumerate(row):
            if value is None or value == "":
                continue
            writers[type(value)](row_index, col, value)
        written += 1
    workbook.close()
    return written


def response(export: Export) -> HttpResponseBase:
    """The HTTP answer for an export: the XLSX from a temporary file (FileResponse closes and
    so deletes it when sent), or the CSV streamed as it is generated."""
    if export.format == "xlsx":
        handle: IO[bytes] = tempfile.TemporaryFile(suffix=".xlsx")
        try:
            write_xlsx(export, handle)
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        return FileResponse(
            handle, as_attachment=True, filename=export.filename, content_type=XLSX_CONTENT_TYPE
        )
    streamed = StreamingHttpResponse(csv_chunks(export), content_type=CSV_CONTENT_TYPE)
    streamed["Content-Disposition"] = content_disposition_header(True, export.filename)
    return streamed
