"""Official lists (官方名单): confirmed, suspected and asymptomatic cases and close contacts,
imported from the health commission's XLSX or CSV files and matched to health codes by the
blind index of the ID number (the number itself is never stored here, the name only masked).

- `import_official_list` validates every row (name, ID number by the declaration's rule,
  category, listing date not in the future, no row repeated); any bad row → `ImportRejected`
  with every bad row and nothing written. Otherwise one batch with one entry per row is
  stored, the entries are linked to codes by ONE statement for the whole file, and each
  matched code is re-derived (cause "official_list") in its own small transaction with the
  code's row locked — the rules engine reads the entries (not withdrawn) as facts.
- `withdraw_entry` takes a wrongly listed person off (withdrawn_at) and re-derives the code.
- `link_entries_on_declaration` (a `code_declared` receiver): someone listed before they
  applied is red as soon as they declare.

Only city admins import and withdraw: a list is city-wide, and its matching touches codes of
every district (district admins see the result on their codes through reviews and the roster).

File reading reuses the employee importer's helpers (`healthcode.enterprises.imports`: format
sniffing, encodings, XLSX limits, cell text, dates, `ImportRejected`/`RowErrors`); the header
mapping and row loop here are a thin adapter, because there they are bound to the employee
columns and limits.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthcode.accounts.permissions import is_city_admin
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.codes.choices import ChangeCause, OfficialListKind
from healthcode.codes.forms import clean_id_number
from healthcode.codes.models import HealthCode, OfficialListEntry, OfficialListImport
from healthcode.enterprises import imports
from healthcode.enterprises.imports import (
    _DATE_RE,
    Column,
    ImportRejected,
    RowErrors,
    _cell_text,
    _excel_serial_date,
    map_header,
)
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_id_number, mask_name

# A city-wide list can be long: 100,000 rows of five short columns (a CSV of ~6 MB).
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
BATCH_SIZE = 1000
NAME_MAX = 64
NOTE_MAX = 200
# The first cases were reported in December 2019: an earlier date is a typing error.
EARLIEST_LISTED_ON = date(2019, 12, 1)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

COLUMNS: tuple[Column, ...] = (
    Column("name", gettext_lazy("姓名"), "姓名", ("姓名", "name", "人员姓名"), required=True),
    Column(
        "id_number",
        gettext_lazy("身份证号"),
        "身份证号",
        ("身份证号", "身份证号码", "公民身份号码", "证件号码", "id_number", "id"),
        required=True,
    ),
    Column(
        "kind",
        gettext_lazy("类别"),
        "类别",
        ("类别", "人员类别", "名单类别", "kind", "category"),
        required=True,
    ),
    Column(
        "listed_on",
        gettext_lazy("列入日期"),
        "列入日期（YYYY-MM-DD）",
        ("列入日期", "日期", "listed_on", "date"),
        required=True,
    ),
    Column("note", gettext_lazy("备注"), "备注", ("备注", "note", "remarks")),
)
_COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def _kind_key(text: str) -> str:
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", text)).lower()


# The words of the file format (Chinese whatever the page's language), for the template.
KIND_WORDS: dict[str, str] = {
    OfficialListKind.CONFIRMED: "确诊病例",
    OfficialListKind.SUSPECTED: "疑似病例",
    OfficialListKind.ASYMPTOMATIC: "无症状感染者",
    OfficialListKind.CLOSE_CONTACT: "密切接触者",
}

# The commission's words, their short forms, and the API codes.
_KINDS: dict[str, str] = {
    _kind_key(alias): kind
    for kind, aliases in {
        OfficialListKind.CONFIRMED: ("确诊病例", "确诊", "确诊患者", "confirmed"),
        OfficialListKind.SUSPECTED: ("疑似病例", "疑似", "疑似患者", "suspected"),
        OfficialListKind.ASYMPTOMATIC: ("无症状感染者", "无症状", "asymptomatic"),
        OfficialListKind.CLOSE_CONTACT: ("密切接触者", "密接", "密切接触", "close_contact"),
    }.items()
    for alias in aliases
}


def column_label(key: str) -> str:
    """The Chinese column header for an error's field key (the key itself when unknown)."""
    column = _COLUMN_BY_KEY.get(key)
    return str(column.label) if column else key


# --- Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRow:
    """One valid row: the ID number only lives in memory during the import."""

    row: int
    name: str
    id_number: str
    kind: str
    listed_on: date


@dataclass(frozen=True)
class UnmatchedRow:
    """A listed person with no health code (yet), as reported: masked, never in clear."""

    row: int
    name: str
    id_number: str
    kind: str
    listed_on: date

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "name": self.name,
            "id_number": self.id_number,
            "kind": self.kind,
            "listed_on": self.listed_on.isoformat(),
        }


# --- Permissions ------------------------------------------------------------------------------


def may_manage_lists(user: Any) -> bool:
    """Official lists are city-wide: city admins (and superusers) import, view and withdraw."""
    return bool(getattr(user, "is_authenticated", False)) and is_city_admin(user)


def require_list_admin(user: Any) -> None:
    if not may_manage_lists(user):
        raise ApiError(
            403,
            "city_admin_only",
            _("官方名单由市级管理员导入和管理：您的角色不能使用此功能。"),
        )


# --- Reading the file -------------------------------------------------------------------------


def read_upload(file: Any) -> tuple[str, bytes]:
    """The upload's name and bytes (the importers' shared reader, with this list's limit)."""
    return imports.read_upload(
        file, max_bytes=MAX_BYTES, empty_message=_("文件是空的：请使用模板填写名单后再上传。")
    )


def _header_hint() -> str:
    return _("第 1 行应为表头：%(columns)s（可下载模板填写）。") % {
        "columns": "、".join(c.header for c in COLUMNS)
    }


def _header_map(header: Iterable[Any]) -> dict[int, str]:
    return map_header(header, COLUMNS)


def parse_rows(name: str, raw: bytes) -> tuple[list[ListRow], list[RowErrors]]:
    """Read and check every row of the file: the valid rows and the bad ones (row number as
    the spreadsheet shows it, the header being row 1; reasons per field). Raises
    ImportRejected for a file that cannot be read, has the wrong headers, no rows or too many."""
    xlsx, cells = imports.file_cells(name, raw)
    iterator = iter(cells)
    header = next(iterator, None)
    if header is None or not any(_cell_text(c) for c in header):
        raise ImportRejected([_header_hint()])
    mapping = _header_map(header)
    today = timezone.localdate()
    good: list[ListRow] = []
    bad: list[RowErrors] = []
    first_row_of: dict[tuple[str, str], int] = {}
    count = 0
    for number, row_cells in enumerate(iterator, start=2):
        values = {key: row_cells[i] for i, key in mapping.items() if i < len(row_cells)}
        texts = {key: _cell_text(v) for key, v in values.items()}
        if not any(texts.values()):
            continue  # blank rows, often left at the end of a sheet
        if row_cells and _cell_text(row_cells[0]).startswith("#"):
            continue  # a note line, as in the CSV template
        count += 1
        if count > MAX_ROWS:
            raise ImportRejected(
                [
                    _("一个文件最多 %(max)s 行名单，本文件超出了这个数：请拆分后分批导入。")
                    % {"max": f"{MAX_ROWS:,}"}
                ]
            )
        errors: dict[str, list[str]] = {}

        person = texts.get("name", "")
        if not person:
            errors["name"] = [_("“姓名”必须填写。")]
        elif len(person) > NAME_MAX:
            errors["name"] = [_("“姓名”不能超过 %(max)d 个字。") % {"max": NAME_MAX}]

        number_text = texts.get("id_number", "")
        id_number = ""
        if not number_text:
            errors["id_number"] = [_("“身份证号”必须填写。")]
        else:
            try:
                id_number = clean_id_number(number_text)
            except ValidationError as exc:  # the declaration's ID-number rule (GB 11643)
                errors["id_number"] = [str(m) for m in exc.messages]
                raw_value = values.get("id_number")
                if xlsx and isinstance(raw_value, int | float) and not isinstance(raw_value, bool):
                    errors["id_number"].append(
                        _(
                            "该单元格是数字格式：Excel 只保留 15 位有效数字，请把身份证号列设为文本后重新填写。"
                        )
                    )

        kind_text = texts.get("kind", "")
        kind = _KINDS.get(_kind_key(kind_text)) if kind_text else None
        if kind is None:
            errors["kind"] = [
                _(
                    "“类别”应为以下之一：确诊病例、疑似病例、无症状感染者、密切接触者（或 %(codes)s）。"
                )
                % {"codes": ", ".join(OfficialListKind.values)}
            ]

        listed_on = _listed_on(values.get("listed_on"), texts.get("listed_on", ""), xlsx=xlsx)
        if listed_on is None:
            errors["listed_on"] = [_("“列入日期”应为日期，格式 YYYY-MM-DD，例如 2020-02-21。")]
        elif listed_on > today:
            errors["listed_on"] = [_("“列入日期”不能晚于今天。")]
        elif listed_on < EARLIEST_LISTED_ON:
            errors["listed_on"] = [
                _("“列入日期”不能早于 %(day)s。") % {"day": EARLIEST_LISTED_ON.isoformat()}
            ]

        if len(texts.get("note", "")) > NOTE_MAX:
            errors["note"] = [_("“备注”不能超过 %(max)d 个字。") % {"max": NOTE_MAX}]

        if id_number and kind:
            first = first_row_of.setdefault((id_number, kind), number)
            if first != number:
                errors.setdefault("id_number", []).append(
                    _("与第 %(row)d 行重复：同一人同一类别只能填写一行。") % {"row": first}
                )

        if errors:
            bad.append(RowErrors(number, errors))
        else:
            assert kind is not None and listed_on is not None
            good.append(ListRow(number, person, id_number, kind, listed_on))
    if not good and not bad:
        raise ImportRejected([_("文件中没有名单数据：请从第 2 行起每行填写一人。")])
    return good, bad


def _listed_on(value: Any, text: str, *, xlsx: bool) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if xlsx and isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_serial_date(value)  # a date typed into a cell formatted as a number
    match = _DATE_RE.match(text)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _bad_rows_message(bad: list[RowErrors]) -> str:
    shown = "、".join(str(r.row) for r in bad[:20])
    if len(bad) > 20:
        shown += _(" 等")
    return _(
        "有 %(count)d 行有误（第 %(rows)s 行），未导入任何记录：请改正这些行后重新上传整个文件。"
    ) % {"count": len(bad), "rows": shown}


def _already_imported(digest: str) -> None:
    earlier = OfficialListImport.objects.filter(sha256=digest).order_by("imported_at").first()
    if earlier is not None:
        raise ImportRejected(
            [
                _("该文件已于 %(at)s 导入（第 %(id)d 批），同一文件不能重复导入。")
                % {
                    "at": timezone.localtime(earlier.imported_at).strftime("%Y-%m-%d %H:%M"),
                    "id": earlier.pk,
                }
            ]
        )


# --- The import -------------------------------------------------------------------------------


def _link_unmatched(entries: Any) -> int:
    """Link the given entries that have no code to the code with their blind index: ONE
    UPDATE for all of them, however many (no query per row, no parameter per row)."""
    codes = HealthCode.objects.filter(id_number_index=OuterRef("id_number_index"))
    return entries.filter(
        code__isnull=True,
        withdrawn_at__isnull=True,
        id_number_index__in=HealthCode.objects.values("id_number_index"),
    ).update(code=Subquery(codes.values("pk")[:1]))


def _rederive(code_pk: int, *, actor: Any) -> None:
    """Re-derive one code in its own small transaction, its row locked against concurrent
    check-ins and reviews."""
    from healthcode.codes.services import redecide

    with transaction.atomic():
        code = HealthCode.objects.select_for_update().filter(pk=code_pk).first()
        if code is not None:  # deleted meanwhile (purge): nothing to colour
            redecide(code, cause=ChangeCause.OFFICIAL_LIST, actor=actor)


def import_official_list(*, actor: Any, file: Any, ip: str | None = None) -> OfficialListImport:
    """Import an official list file (XLSX or CSV), all rows or none, and turn the matched
    codes red through the rules engine.

    City admins only (ApiError 403). Raises ImportRejected (a ValidationError on "file",
    with `.rows`) when the file cannot be read, was imported before (same SHA-256), or any
    row is bad; nothing is written then. Returns the batch with its counts and, as the
    attribute `unmatched_rows`, the rows without a code (masked).

    The batch and its entries are written, linked and audited in one transaction; each
    matched code is then re-derived in a transaction of its own (few codes, short locks).
    Should that stop half-way, the entries stay linked and `rederive_batch` finishes it.
    """
    require_list_admin(actor)
    # Reading and checking the file needs no database: do it before the transaction, which
    # on SQLite holds the write lock from its first statement.
    name, raw = read_upload(file)
    digest = hashlib.sha256(raw).hexdigest()
    _already_imported(digest)  # the clear answer before checking 100,000 rows
    rows, bad = parse_rows(name, raw)
    if bad:
        raise ImportRejected([_bad_rows_message(bad)], bad)

    from healthcode.codes.services import id_number_index

    indexes = [id_number_index(r.id_number) for r in rows]
    with transaction.atomic():
        _already_imported(digest)
        try:
            with transaction.atomic():
                batch = OfficialListImport.objects.create(
                    imported_by=actor if getattr(actor, "is_authenticated", False) else None,
                    file_name=(name.rsplit("/", 1)[-1] or "upload")[:200],
                    sha256=digest,
                    rows=len(rows),
                )
        except IntegrityError:
            # The same file imported concurrently (with a unique constraint on sha256).
            _already_imported(digest)
            raise
        OfficialListEntry.objects.bulk_create(
            (
                OfficialListEntry(
                    batch=batch,
                    kind=r.kind,
                    id_number_index=index,
                    name_masked=mask_name(r.name)[:64],
                    listed_on=r.listed_on,
                )
                for r, index in zip(rows, indexes, strict=True)
            ),
            batch_size=BATCH_SIZE,
        )
        batch.matched = _link_unmatched(batch.entries.all())
        batch.unmatched = batch.rows - batch.matched
        batch.save(update_fields=["matched", "unmatched"])
        audit(
            action=AuditAction.OFFICIAL_LIST_IMPORT,
            actor=actor,
            subject=batch,
            ip=ip,
            detail={
                "sha256": digest,
                "bytes": len(raw),
                "rows": batch.rows,
                "matched": batch.matched,
                "unmatched": batch.unmatched,
                "kinds": {
                    kind: sum(1 for r in rows if r.kind == kind) for kind in OfficialListKind.values
                },
            },
        )
    # On PostgreSQL a person declaring while this transaction ran could be missed by both
    # sides (neither saw the other's uncommitted row): link once more now it is committed.
    late = _link_unmatched(batch.entries.all())
    if late:
        batch.matched += late
        batch.unmatched -= late
        batch.save(update_fields=["matched", "unmatched"])
    matched = rederive_batch(batch=batch, actor=actor)
    batch.unmatched_rows = [  # type: ignore[attr-defined]
        UnmatchedRow(
            row=r.row,
            name=mask_name(r.name),
            id_number=mask_id_number(r.id_number),
            kind=r.kind,
            listed_on=r.listed_on,
        )
        for r, index in zip(rows, indexes, strict=True)
        if index not in matched
    ]
    return batch


def rederive_batch(*, batch: OfficialListImport, actor: Any = None) -> set[str]:
    """Re-derive every code linked to the batch's entries, one small transaction each.
    Idempotent. Returns the blind indexes that are matched (to report the unmatched rows)."""
    pairs = list(batch.entries.filter(code__isnull=False).values_list("id_number_index", "code_id"))
    for code_pk in sorted({pk for _index, pk in pairs}):
        _rederive(code_pk, actor=actor)
    return {index for index, _pk in pairs}


@transaction.atomic
def withdraw_entry(
    *, actor: Any, entry: OfficialListEntry, reason: str = "", ip: str | None = None
) -> OfficialListEntry:
    """Take a person off an official list (e.g. listed by mistake): the entry is kept,
    marked withdrawn, no longer a fact for the rules; the code is re-derived at once.
    City admins only (403); an entry already withdrawn → ApiError 400."""
    require_list_admin(actor)
    reason = (reason or "").strip()
    if len(reason) > NOTE_MAX:
        raise ValidationError(
            {"reason": [_("撤销原因不能超过 %(max)d 个字。") % {"max": NOTE_MAX}]}
        )
    entry = OfficialListEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.withdrawn_at is not None:
        raise ApiError(
            400,
            "already_withdrawn",
            _("该名单记录已于 %(at)s 撤销。")
            % {"at": timezone.localtime(entry.withdrawn_at).strftime("%Y-%m-%d %H:%M")},
        )
    now = timezone.now()
    entry.withdrawn_at = now
    entry.save(update_fields=["withdrawn_at"])
    audit(
        action=AuditAction.OFFICIAL_LIST_WITHDRAW,
        actor=actor,
        subject=entry,
        ip=ip,
        detail={
            "batch": entry.batch_id,
            "kind": entry.kind,
            "listed_on": entry.listed_on.isoformat(),
            "matched": entry.code_id is not None,
            "reason": reason,
        },
    )
    if entry.code_id is not None:
        from healthcode.codes.services import redecide

        code = HealthCode.objects.select_for_update().get(pk=entry.code_id)
        redecide(code, cause=ChangeCause.OFFICIAL_LIST, now=now, actor=actor)
    return entry


def link_entries_on_declaration(sender: Any, code: HealthCode, **kwargs: Any) -> None:
    """`code_declared` receiver: a person on a list who applies afterwards is linked to the
    open entries with their blind index and re-derived in the declaration's transaction, so
    the first colour they see already counts the list."""
    from healthcode.codes.services import redecide

    entries = OfficialListEntry.objects.filter(id_number_index=code.id_number_index)
    if _link_unmatched(entries):
        redecide(code, cause=ChangeCause.OFFICIAL_LIST)


# --- Reading batches and entries ----------------------------------------------------------------


def batches_for(user: Any) -> Any:
    """The batches a list admin sees (all of them: lists are city-wide), newest first."""
    require_list_admin(user)
    return OfficialListImport.objects.select_related("imported_by").order_by("-imported_at", "-pk")


def batch_for(user: Any, batch_id: object) -> OfficialListImport:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(batches_for(user), pk=int(str(batch_id)))


def entry_for(user: Any, entry_id: object) -> OfficialListEntry:
    from django.shortcuts import get_object_or_404

    require_list_admin(user)
    return get_object_or_404(OfficialListEntry.objects.all(), pk=int(str(entry_id)))


ENTRY_STATES = ("matched", "unmatched", "withdrawn")


def entries_of(batch: OfficialListImport, state: str = "") -> Any:
    """The batch's entries in file order, optionally only matched, unmatched or withdrawn."""
    qs = batch.entries.select_related("code").order_by("pk")
    if state == "matched":
        qs = qs.filter(code__isnull=False, withdrawn_at__isnull=True)
    elif state == "unmatched":
        qs = qs.filter(code__isnull=True, withdrawn_at__isnull=True)
    elif state == "withdrawn":
        qs = qs.filter(withdrawn_at__isnull=False)
    return qs


def present_batch(batch: OfficialListImport) -> dict[str, Any]:
    from healthcode.lib.masking import mask_phone

    by = batch.imported_by
    return {
        "id": batch.pk,
        "file_name": batch.file_name,
        "sha256": batch.sha256,
        "imported_at": batch.imported_at,
        "imported_by": mask_phone(by.phone) if by is not None else "",
        "rows": batch.rows,
        "matched": batch.matched,
        "unmatched": batch.unmatched,
    }


def present_entry(entry: OfficialListEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "kind_name": str(OfficialListKind(entry.kind).label),
        "name": entry.name_masked,
        "listed_on": entry.listed_on,
        "code": str(entry.code.public_id) if entry.code_id else None,
        "withdrawn_at": entry.withdrawn_at,
    }


# --- The template -----------------------------------------------------------------------------

# Example ID numbers with a wrong check digit on purpose: never a real person's, and
# refused if copied into the list by mistake.
EXAMPLE_ROWS = (
    ("张三", "450103199003071235", "确诊病例", "2020-02-21", ""),
    ("李四", "450102198512120012", "密切接触者", "2020-02-21", "与张三同住"),
)


def _instructions() -> list[tuple[str, str]]:
    return [
        (_("姓名"), _("必填。")),
        (_("身份证号"), _("必填。18 位居民身份证号码（GB 11643），请把该列设为文本格式。")),
        (
            _("类别"),
            _(
                "必填。确诊病例、疑似病例、无症状感染者、密切接触者之一（也可填 confirmed、suspected、asymptomatic、close_contact）。"
            ),
        ),
        (_("列入日期"), _("必填。格式 YYYY-MM-DD，例如 2020-02-21；不能晚于今天。")),
        (_("备注"), _("选填，不超过 200 字；不保存。")),
    ]


def template_xlsx() -> bytes:
    """The XLSX template: headers on the first sheet (ID numbers as text, a list of the four
    categories, a date format); instructions and an example on the second."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF5", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet(_("官方名单"))
    for index, column in enumerate(COLUMNS):
        sheet.write_string(0, index, column.header, bold)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 22, text)
    sheet.set_column(2, 2, 16)
    sheet.set_column(3, 3, 22, day)
    sheet.set_column(4, 4, 30)
    sheet.data_validation(
        1, 2, MAX_ROWS, 2, {"validate": "list", "source": list(KIND_WORDS.values())}
    )
    sheet.freeze_panes(1, 0)
    notes = workbook.add_worksheet(_("填写说明"))
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 90)
    notes.write_string(0, 0, _("填写说明"), bold)
    notes.write_string(1, 0, _("在第一张工作表中从第 2 行起每行填写一人，不要修改第 1 行表头。"))
    for offset, (column, help_text) in enumerate(_instructions(), start=3):
        notes.write_string(offset, 0, column, bold)
        notes.write_string(offset, 1, help_text)
    example_at = 3 + len(COLUMNS) + 1
    notes.write_string(example_at, 0, _("示例（请勿填入第一张工作表）："), bold)
    for index, column in enumerate(COLUMNS):
        notes.write_string(example_at + 1, index, column.header, bold)
        for offset, example in enumerate(EXAMPLE_ROWS, start=2):
            notes.write_string(example_at + offset, index, example[index])
    workbook.close()
    return buffer.getvalue()


def template_csv() -> bytes:
    """The CSV template in UTF-8 with a BOM (Excel opens it in Chinese): the header row and
    note lines starting with "#" (skipped by the import)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    writer.writerow(
        [
            "# "
            + _("示例（以 # 开头的行不会导入，填写前可删除）：")
            + " "
            + " | ".join(EXAMPLE_ROWS[0][:4])
        ]
    )
    writer.writerow(
        ["# " + _("类别：确诊病例、疑似病例、无症状感染者、密切接触者；列入日期格式 YYYY-MM-DD。")]
    )
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_response(fmt: str) -> HttpResponse:
    """The template as a download ("xlsx" or "csv"), for the API and the page."""
    if fmt == "csv":
        body, content_type = template_csv(), CSV_CONTENT_TYPE
    else:
        fmt, body, content_type = "xlsx", template_xlsx(), XLSX_CONTENT_TYPE
    answer = HttpResponse(body, content_type=content_type)
    answer["Content-Disposition"] = f'attachment; filename="official-list-template.{fmt}"'
    return answer
