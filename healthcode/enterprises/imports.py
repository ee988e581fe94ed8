"""Bulk import of employees (添加员工, 批量导入) from XLSX or CSV, and its downloadable template.

Every row is validated by the same check as adding one employee by hand
(`services.check_employee`), with the codes of all the file's phones read in one query; every
bad row is reported with its row number as the spreadsheet shows it (the header is row 1) and
the reasons per field. If any row is bad nothing is imported; otherwise all rows are created in
one transaction, linked to the person's code where name and phone match, kept as invitations
otherwise, with one audit record for the whole import (counts only, no personal data).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthcode.accounts.permissions import enterprise_managed_by
from healthcode.accounts.services import validate_phone
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.enterprises.models import Employee, Enterprise

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# An XLSX is a zip: refuse one that would inflate far beyond what 20,000 rows need (zip bomb).
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
BATCH_SIZE = 1000

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003), also .doc


@dataclass(frozen=True)
class Column:
    """One column of the import file: the key passed to `check_employee`, the template's
    Chinese header, and the other header spellings accepted."""

    key: str
    label: Any  # lazy translation
    header: str
    aliases: tuple[str, ...]
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", gettext_lazy("姓名"), "姓名", ("姓名", "name", "员工姓名"), required=True),
    Column(
        "phone",
        gettext_lazy("手机号"),
        "手机号",
        ("手机号", "手机", "手机号码", "联系电话", "phone", "mobile"),
        required=True,
    ),
    Column(
        "department_name",
        gettext_lazy("部门"),
        "部门",
        ("部门", "department", "department_name", "dept"),
    ),
    Column(
        "returned_to_work",
        gettext_lazy("是否复工人员"),
        "是否复工人员（是/否）",
        ("是否复工人员", "复工人员", "是否复工", "returned_to_work"),
    ),
    Column(
        "returned_on",
        gettext_lazy("复工日期"),
        "复工日期（YYYY-MM-DD）",
        ("复工日期", "returned_on", "return_date"),
    ),
)
_COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "复工"}
_FALSE = {"否", "n", "no", "false", "0", "×", "✗", ""}
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_PAREN_RE = re.compile(r"[（(][^）)]*[）)]")


def _normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _PAREN_RE.sub("", text)
    return re.sub(r"[\s*＊:：]", "", text).lower()


_HEADER_TO_KEY = {_normalise_header(a): c.key for c in COLUMNS for a in c.aliases}


def column_label(key: str) -> str:
    """The Chinese column header for an error's field key (the key itself when unknown)."""
    column = _COLUMN_BY_KEY.get(key)
    return str(column.label) if column else key


# --- Results and errors -----------------------------------------------------------------------


@dataclass(frozen=True)
class RowErrors:
    """The reasons one row was refused: its spreadsheet row number and messages per field."""

    row: int
    errors: dict[str, list[str]]


class ImportRejected(ValidationError):
    """Nothing was imported. `message_dict` is `{"file": [...]}` (what is wrong with the file
    as a whole, or a summary of the bad rows) and `rows` lists every bad row."""

    def __init__(self, messages: list[str], rows: Iterable[RowErrors] = ()) -> None:
        super().__init__({"file": list(messages)})
        self.rows: list[RowErrors] = list(rows)


@dataclass(frozen=True)
class ImportResult:
    imported: int
    linked: int
    invited: int


@dataclass
class ParsedRow:
    """One data row as read from the file, before the employee checks."""

    row: int
    data: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ParsedFile:
    format: str  # "xlsx" | "csv"
    rows: list[ParsedRow]


# --- Reading files ----------------------------------------------------------------------------


def read_upload(
    file: Any, *, max_bytes: int | None = None, empty_message: str | None = None
) -> tuple[str, bytes]:
    """The upload's name and bytes, refusing an empty or too large file before reading it.
    Shared by every importer (employees, official lists), each with its own size limit."""
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    name = getattr(file, "name", "") or ""
    size = getattr(file, "size", None)
    if size is not None and size > max_bytes:
        raise ImportRejected([_too_large_message(max_bytes)])
    raw = file.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ImportRejected([_too_large_message(max_bytes)])
    if not raw:
        raise ImportRejected([empty_message or _("文件是空的：请使用模板填写员工后再上传。")])
    return name, raw


def _too_large_message(max_bytes: int | None = None) -> str:
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    return _("文件不能超过 %(mb)d MB：请拆分成几个文件分批导入。") % {
        "mb": max_bytes // (1024 * 1024)
    }


def file_cells(name: str, raw: bytes) -> tuple[bool, Iterator[Any]]:
    """(is_xlsx, the rows of cells) of an XLSX or CSV upload, detected by content, then by
    extension; ImportRejected for .xls or a file that only pretends to be .xlsx."""
    lower = name.lower()
    if raw.startswith(_ZIP_MAGIC):
        return True, _xlsx_cells(raw)
    if raw.startswith(_OLE2_MAGIC) or lower.endswith(".xls"):
        raise ImportRejected(
            [
                _(
                    "不支持 Excel 97-2003（.xls）文件：请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）后上传。"
                )
            ]
        )
    if lower.endswith(".xlsx"):
        raise ImportRejected([_("文件扩展名是 .xlsx，但内容不是 Excel 工作簿：请重新导出后上传。")])
    return False, _csv_cells(raw)


def parse_file(name: str, raw: bytes) -> ParsedFile:
    """Read the rows of an XLSX or CSV file and turn their cells into the values
    `check_employee` takes. Raises ImportRejected for a file that cannot be read, has the
    wrong headers, no data rows or too many."""
    xlsx, cells = file_cells(name, raw)
    return ParsedFile("xlsx" if xlsx else "csv", _rows_from_cells(cells, xlsx=xlsx))


def _xlsx_cells(raw: bytes) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook

    unreadable = _("无法读取该 Excel 文件：请确认是 .xlsx 格式，或另存为 CSV 后上传。")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportRejected([unreadable]) from None
    if "xl/workbook.xml" not in names:
        raise ImportRejected([unreadable])
    if total > MAX_UNZIPPED_BYTES:
        raise ImportRejected([_too_large_message()])
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for damaged files
        raise ImportRejected([unreadable]) from None
    try:
        # The first sheet holds the employees (the template's second sheet is the instructions).
        sheet = workbook.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _decode(raw: bytes) -> str:
    """UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"), else GB18030
    (Excel's default CSV encoding on Chinese Windows)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16", errors="strict")
    elif raw.startswith(codecs.BOM_UTF8):
        try:
            text = raw[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            raise ImportRejected(
                [_("文件标明为 UTF-8 编码，但含有无效字符：请重新保存后上传。")]
            ) from None
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = raw.decode("gb18030")
            except UnicodeDecodeError:
                raise ImportRejected(
                    [_("无法识别文件的编码：请上传 .xlsx 文件，或 UTF-8 / GBK 编码的 CSV 文件。")]
                ) from None
    if "\x00" in text:
        raise ImportRejected([_("文件不是 CSV 或 XLSX 格式：请使用下载的模板填写后上传。")])
    return text


def _csv_cells(raw: bytes) -> Iterator[list[str]]:
    text = _decode(raw)
    first_line = text.split("\n", 1)[0]
    # Excel writes commas; its "Unicode text" writes tabs; some locales write semicolons.
    delimiter = max((",", "\t", ";"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error:
        raise ImportRejected(
            [_("CSV 文件格式有误（引号不配对等）：请用 Excel 重新保存后上传。")]
        ) from None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phones typed as numbers come back as 13800000101.0
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip().strip("\u200b\ufeff").strip()


def map_header(header: Iterable[Any], columns: Sequence[Column]) -> dict[int, str]:
    """Column index → field key for a file's header row over `columns` (headers matched by
    their aliases, Chinese or English), or ImportRejected naming the missing, unknown or
    repeated columns. Shared by every importer (employees, official lists)."""
    header_to_key = {_normalise_header(a): c.key for c in columns for a in c.aliases}
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    for index, cell in enumerate(header):
        text = _cell_text(cell)
        if not text:
            continue
        key = header_to_key.get(_normalise_header(text))
        if key is None:
            unknown.append(text)
        elif key in mapping.values():
            repeated.append(text)
        else:
            mapping[index] = key
    messages = []
    missing = [str(c.label) for c in columns if c.required and c.key not in mapping.values()]
    if missing:
        messages.append(_("缺少必需的列：%(columns)s。") % {"columns": "、".join(missing)})
    if unknown:
        messages.append(_("无法识别的列：%(columns)s。") % {"columns": "、".join(unknown[:10])})
    if repeated:
        messages.append(_("列重复：%(columns)s。") % {"columns": "、".join(repeated)})
    if messages:
        messages.append(
            _("第 1 行应为表头：%(columns)s（可下载模板填写）。")
            % {"columns": "、".join(c.header for c in columns)}
        )
        raise ImportRejected(messages)
    return mapping


def _header_map(header: tuple[Any, ...] | list[Any]) -> dict[int, str]:
    return map_header(header, COLUMNS)


def _rows_from_cells(cells: Iterable[Any], *, xlsx: bool) -> list[ParsedRow]:
    iterator = iter(cells)
    header = next(iterator, None)
    if header is None or not any(_cell_text(c) for c in header):
        raise ImportRejected(
            [
                _("第 1 行应为表头：%(columns)s（可下载模板填写）。")
                % {"columns": "、".join(c.header for c in COLUMNS)}
            ]
        )
    mapping = _header_map(header)
    rows: list[ParsedRow] = []
    for number, cells_of_row in enumerate(iterator, start=2):
        values = {key: cells_of_row[i] for i, key in mapping.items() if i < len(cells_of_row)}
        texts = {key: _cell_text(v) for key, v in values.items()}
        if not any(texts.values()):
            continue  # blank rows (often left at the end of a sheet) are not employees
        if cells_of_row and _cell_text(cells_of_row[0]).startswith("#"):
            continue  # a note line, as in the CSV template's example
        if len(rows) >= MAX_ROWS:
            raise ImportRejected(
                [
                    _("一个文件最多导入 %(max)s 名员工，本文件超出了这个数：请拆分后分批导入。")
                    % {"max": f"{MAX_ROWS:,}"}
                ]
            )
        rows.append(_parse_row(number, values, texts, xlsx=xlsx))
    if not rows:
        raise ImportRejected([_("文件中没有员工数据：请从第 2 行起每行填写一名员工。")])
    return rows


def _parse_row(
    number: int, values: dict[str, Any], texts: dict[str, str], *, xlsx: bool
) -> ParsedRow:
    data: dict[str, Any] = {
        "name": texts.get("name", ""),
        "phone": texts.get("phone", ""),
        "department_name": texts.get("department_name", ""),
        "returned_to_work": False,
        "returned_on": None,
    }
    errors: dict[str, list[str]] = {}
    flag = texts.get("returned_to_work", "").lower()
    if flag in _TRUE:
        data["returned_to_work"] = True
    elif flag not in _FALSE:
        # Passed on as typed: check_employee states the rule for it.
        data["returned_to_work"] = texts["returned_to_work"]
        errors["returned_to_work"] = [_("“是否复工人员”应填“是”或“否”（留空视为“否”）。")]
    raw_date = values.get("returned_on")
    if isinstance(raw_date, datetime):
        data["returned_on"] = raw_date.date()
    elif isinstance(raw_date, date):
        data["returned_on"] = raw_date
    elif xlsx and isinstance(raw_date, int | float) and not isinstance(raw_date, bool):
        # A date typed into a cell formatted as a number: Excel's serial day number.
        parsed = _excel_serial_date(raw_date)
        if parsed is None:
            errors["returned_on"] = [_date_message()]
        data["returned_on"] = parsed
    elif texts.get("returned_on"):
        match = _DATE_RE.match(texts["returned_on"])
        try:
            data["returned_on"] = date(*(int(g) for g in match.groups())) if match else None
        except ValueError:
            data["returned_on"] = None
        if data["returned_on"] is None:
            data["returned_on"] = texts["returned_on"]
            errors["returned_on"] = [_date_message()]
    return ParsedRow(number, data, errors)


def _excel_serial_date(value: float) -> date | None:
    from openpyxl.utils.datetime import from_excel

    if not 1 <= value < 2958466:
        return None
    try:
        return from_excel(value).date()
    except (ValueError, OverflowError):
        return None


def _date_message() -> str:
    return _("“复工日期”应为日期，格式 YYYY-MM-DD，例如 2020-02-21。")


# --- The import -------------------------------------------------------------------------------


def _normalised_phone(raw: str) -> str | None:
    try:
        return validate_phone(raw)
    except ValidationError:
        return None


def check_rows(
    *, enterprise: Enterprise, rows: list[ParsedRow]
) -> tuple[list[Any], list[RowErrors]]:
    """Run the employee checks over every row with one query for the codes of all phones and
    one for the enterprise's active staff. Returns the drafts and the bad rows."""
    from healthcode.enterprises import services

    phones = [_normalised_phone(r.data["phone"]) for r in rows]
    codes = services.codes_by_phone({p for p in phones if p})
    active = set(
        Employee.objects.filter(enterprise=enterprise, active=True).values_list("phone", flat=True)
    )
    drafts: list[Any] = []
    bad: list[RowErrors] = []
    first_row_of_phone: dict[str, int] = {}
    for parsed, phone in zip(rows, phones, strict=True):
        errors: dict[str, list[str]] = {}
        draft = None
        try:
            draft = services.check_employee(
                enterprise=enterprise,
                data=parsed.data,
                codes_by_phone=codes,
                active_phones=active,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                errors = {key: list(messages) for key, messages in exc.message_dict.items()}
            else:
                errors = {"__all__": list(exc.messages)}
        # The cell-reading errors count where the employee check said nothing about the field
        # (it ignores the date of someone not returned to work; a bad date is still wrong).
        for key, messages in parsed.errors.items():
            errors.setdefault(key, list(messages))
        if phone:
            first = first_row_of_phone.setdefault(phone, parsed.row)
            if first != parsed.row:
                errors.setdefault("phone", []).append(
                    _("该手机号与第 %(row)d 行重复：同一员工只能填写一行。") % {"row": first}
                )
        if errors:
            bad.append(RowErrors(parsed.row, errors))
        elif draft is not None:
            drafts.append(draft)
    return drafts, bad


def _bad_rows_message(bad: list[RowErrors]) -> str:
    shown = "、".join(str(r.row) for r in bad[:20])
    if len(bad) > 20:
        shown += _(" 等")
    return _(
        "有 %(count)d 行有误（第 %(rows)s 行），未导入任何员工：请改正这些行后重新上传整个文件。"
    ) % {"count": len(bad), "rows": shown}


def import_employees(
    *, actor: Any, enterprise: Enterprise, file: Any, ip: str | None = None
) -> ImportResult:
    """Import the employees listed in an XLSX or CSV upload into `enterprise`, all or none.

    Managers and co-managers of an approved enterprise only (404 / 403 otherwise, as for
    adding one employee). Raises ImportRejected (a ValidationError on "file", with `.rows`)
    when the file cannot be read or any row is bad; nothing is written then.
    """
    from healthcode.enterprises.services import ensure_approved

    # The same guards as adding one employee: a manager of it (404 otherwise), approved (403).
    enterprise = enterprise_managed_by(actor, enterprise.pk)
    ensure_approved(enterprise)
    # Reading the file needs no database: do it before the transaction, which on SQLite holds
    # the write lock from its first statement.
    name, raw = read_upload(file)
    parsed = parse_file(name, raw)
    with transaction.atomic():
        return _import_rows(actor=actor, enterprise=enterprise, parsed=parsed, size=len(raw), ip=ip)


def _import_rows(
    *, actor: Any, enterprise: Enterprise, parsed: ParsedFile, size: int, ip: str | None
) -> ImportResult:
    """Check every row, then write them all and audit, in the caller's transaction."""
    drafts, bad = check_rows(enterprise=enterprise, rows=parsed.rows)
    if bad:
        raise ImportRejected([_bad_rows_message(bad)], bad)
    employees = [d.build(enterprise) for d in drafts]
    try:
        with transaction.atomic():
            Employee.objects.bulk_create(employees, batch_size=BATCH_SIZE)
    except IntegrityError:
        # Someone added one of these phones by hand between the check and the insert.
        raise ImportRejected(
            [_("导入期间员工名单发生了变化（有手机号已被添加）：请重新上传文件。")]
        ) from None
    linked = sum(1 for d in drafts if d.code is not None)
    result = ImportResult(imported=len(drafts), linked=linked, invited=len(drafts) - linked)
    audit(
        action=AuditAction.EMPLOYEE_IMPORT,
        actor=actor,
        subject=enterprise,
        detail={
            "format": parsed.format,
            "bytes": size,
            "imported": result.imported,
            "linked": result.linked,
            "invited": result.invited,
        },
        ip=ip,
    )
    return result


# --- The template -----------------------------------------------------------------------------

EXAMPLE_ROW = ("张三", "13800000000", "生产部", "是", "2020-02-21")


def _instructions() -> list[tuple[str, str]]:
    return [
        (_("姓名"), _("必填。与本人申领健康码时填写的姓名一致。")),
        (
            _("手机号"),
            _(
                "必填。11 位手机号，须是本人注册健康码的手机号；姓名与手机号一致时自动关联健康码，尚未注册的作为邀请保留，本人注册后自动关联。"
            ),
        ),
        (_("部门"), _("选填。")),
        (_("是否复工人员"), _("填“是”或“否”，留空视为“否”。")),
        (_("复工日期"), _("选填。格式 YYYY-MM-DD，例如 2020-02-21。")),
    ]


def template_xlsx() -> bytes:
    """The XLSX template: the header row on the first sheet (phones as text, a 是/否 list, a
    date format), the instructions and an example row on the second sheet."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF5", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet(_("员工名单"))
    for index, column in enumerate(COLUMNS):
        sheet.write_string(0, index, column.header, bold)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 16, text)
    sheet.set_column(2, 2, 16)
    sheet.set_column(3, 3, 20)
    sheet.set_column(4, 4, 22, day)
    sheet.data_validation(1, 3, MAX_ROWS, 3, {"validate": "list", "source": ["是", "否"]})
    sheet.freeze_panes(1, 0)
    sheet.write_comment(0, 1, _("须是本人注册健康码的手机号。"))
    notes = workbook.add_worksheet(_("填写说明"))
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 90)
    notes.write_string(0, 0, _("填写说明"), bold)
    notes.write_string(
        1, 0, _("在第一张工作表“员工名单”中从第 2 行起每行填写一名员工，不要修改第 1 行表头。")
    )
    for offset, (column, help_text) in enumerate(_instructions(), start=3):
        notes.write_string(offset, 0, column, bold)
        notes.write_string(offset, 1, help_text)
    example_at = 3 + len(COLUMNS) + 1
    notes.write_string(example_at, 0, _("示例（请勿填入第一张工作表）："), bold)
    for index, column in enumerate(COLUMNS):
        notes.write_string(example_at + 1, index, column.header, bold)
        notes.write_string(example_at + 2, index, EXAMPLE_ROW[index])
    workbook.close()
    return buffer.getvalue()


def template_csv() -> bytes:
    """The CSV template, UTF-8 with BOM so that Excel opens it in Chinese: the header row and
    two note lines starting with "#" (ignored by the import) showing an example."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    writer.writerow(
        ["# " + _("示例（以 # 开头的行不会导入，填写前可删除）：") + " " + " | ".join(EXAMPLE_ROW)]
    )
    writer.writerow(["# " + _("是否复工人员填“是”或“否”；复工日期格式 YYYY-MM-DD。")])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_response(fmt: str) -> HttpResponse:
    """The template as a download ("xlsx" or "csv"), for the API and the import page."""
    if fmt == "csv":
        body, content_type = template_csv(), CSV_CONTENT_TYPE
    else:
        fmt, body, content_type = "xlsx", template_xlsx(), XLSX_CONTENT_TYPE
    answer = HttpResponse(body, content_type=content_type)
    answer["Content-Disposition"] = f'attachment; filename="employees-template.{fmt}"'
    return answer
