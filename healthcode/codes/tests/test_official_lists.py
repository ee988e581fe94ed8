"""Official lists (官方名单): import from XLSX/CSV, matching by the blind index, colours
re-derived through the rules engine, the per-row report, withdrawal, a later declaration,
and the management command."""

from __future__ import annotations

import codecs
import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.codes import official_lists as lists
from healthcode.codes import services as code_services
from healthcode.codes.models import ColorChange, HealthCode, OfficialListEntry, OfficialListImport
from healthcode.enterprises.imports import ImportRejected
from healthcode.enterprises.tests import conftest as personas
from healthcode.lib.errors import ApiError
from healthcode.testing import declaration, id_number, make_user

pytestmark = pytest.mark.django_db

# The enterprise module's personas (city_admin, district_admin, resident), as fixtures here.
city_admin = personas.city_admin
district_admin = personas.district_admin
resident = personas.resident

HEADER = ("姓名", "身份证号", "类别", "列入日期", "备注")


# --- Helpers (also used by the back-office tests) ------------------------------------------------


def listed_day(days_ago: int = 2) -> date:
    return timezone.localdate() - timedelta(days=days_ago)


def csv_bytes(rows: list[tuple], header: tuple = HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    return codecs.BOM_UTF8 + ("\r\n".join(lines) + "\r\n").encode("utf-8")


def csv_upload(rows: list[tuple], name: str = "list.csv", header: tuple = HEADER):
    return SimpleUploadedFile(name, csv_bytes(rows, header), content_type="text/csv")


def xlsx_bytes(rows: list[tuple], header: tuple = HEADER) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def person(phone: str, seq: int, name: str = "赵小刚") -> HealthCode:
    """A resident with a green code and the ID number id_number(seq=seq)."""
    return code_services.declare(
        account=make_user(phone), data=declaration(name=name, id_number=id_number(seq=seq))
    )


def official_reason(code: HealthCode) -> dict:
    return next(r for r in code.reasons if r["rule"] == "official_list")


@pytest.fixture
def two_codes(db):
    return person("13900000201", 201, "赵小刚"), person("13900000202", 202, "钱多多")


def mixed_rows(day: date) -> list[tuple]:
    """Confirmed and close contact for the two codes, and two people with no code."""
    return [
        ("赵小刚", id_number(seq=201), "确诊病例", day.isoformat(), ""),
        ("钱多多", id_number(seq=202), "密切接触者", day.isoformat(), "同住"),
        ("孙无码", id_number(seq=203), "疑似病例", day.isoformat(), ""),
        ("李未申", id_number(seq=204), "asymptomatic", day.isoformat(), ""),
    ]


# --- The import -----------------------------------------------------------------------------------


def test_it_turns_matched_codes_red_and_reports_the_unmatched(city_admin, two_codes):
    """Confirmed and close-contact rows whose ID numbers have codes turn both red with the
    reason official_list naming the kind and date (zh and en); the others are reported."""
    day = listed_day()
    batch = lists.import_official_list(
        actor=city_admin, file=csv_upload(mixed_rows(day)), ip="10.0.0.1"
    )
    assert (batch.rows, batch.matched, batch.unmatched) == (4, 2, 2)
    confirmed, contact = (HealthCode.objects.get(pk=c.pk) for c in two_codes)
    for code, zh, en in ((confirmed, "确诊", "confirmed"), (contact, "密切接触", "contact")):
        assert code.color == "red"
        reason = official_reason(code)
        assert zh in reason["text_zh"] and day.isoformat() in reason["text_zh"]
        assert en in reason["text_en"].lower() and day.isoformat() in reason["text_en"]
        change = code.changes.order_by("-at", "-id").first()
        assert change.cause == "official_list" and change.color_to == "red"
    assert [(r.row, r.name, r.id_number, r.kind) for r in batch.unmatched_rows] == [
        (4, "孙*码", id_number(seq=203)[:6] + "********" + id_number(seq=203)[-4:], "suspected"),
        (5, "李*申", id_number(seq=204)[:6] + "********" + id_number(seq=204)[-4:], "asymptomatic"),
    ]


def test_it_stores_entries_by_blind_index_only(city_admin, two_codes):
    """Entries hold the blind index and a masked name, never the ID number or name in clear;
    the matched ones point at their code."""
    lists.import_official_list(actor=city_admin, file=csv_upload(mixed_rows(listed_day())))
    entries = list(OfficialListEntry.objects.order_by("pk"))
    assert [e.kind for e in entries] == ["confirmed", "close_contact", "suspected", "asymptomatic"]
    assert [e.name_masked for e in entries] == ["赵*刚", "钱*多", "孙*码", "李*申"]
    assert entries[0].id_number_index == code_services.id_number_index(id_number(seq=201))
    assert [e.code_id for e in entries] == [two_codes[0].pk, two_codes[1].pk, None, None]
    for entry in entries:
        stored = " ".join(str(v) for v in entry.__dict__.values())
        assert id_number(seq=201) not in stored and "赵小刚" not in stored


def test_it_audits_the_import_with_counts_and_no_personal_data(city_admin, two_codes):
    """One audit record for the import: counts and the file digest, no names or ID numbers."""
    batch = lists.import_official_list(
        actor=city_admin, file=csv_upload(mixed_rows(listed_day())), ip="10.0.0.1"
    )
    record = AuditRecord.objects.get(action="official_list_import")
    assert record.actor == city_admin and record.subject_id == str(batch.pk)
    assert record.ip == "10.0.0.1"
    assert record.detail["rows"] == 4 and record.detail["matched"] == 2
    assert record.detail["kinds"]["confirmed"] == 1
    text = str(record.detail)
    assert id_number(seq=201) not in text and "赵小刚" not in text and "孙" not in text
    assert ColorChange.objects.filter(cause="official_list").count() == 2


def test_it_reads_an_xlsx_file_with_date_cells_and_kind_codes(city_admin, two_codes):
    """An XLSX with real date cells, category codes and short forms is read like the CSV."""
    day = listed_day(5)
    rows = [
        ("赵小刚", id_number(seq=201), "confirmed", day, None),
        ("钱多多", id_number(seq=202), "密接", day.isoformat(), None),
    ]
    upload = SimpleUploadedFile("名单.xlsx", xlsx_bytes(rows))
    batch = lists.import_official_list(actor=city_admin, file=upload)
    assert (batch.matched, batch.unmatched) == (2, 0)
    assert list(batch.entries.order_by("pk").values_list("kind", "listed_on")) == [
        ("confirmed", day),
        ("close_contact", day),
    ]
    assert batch.file_name == "名单.xlsx"


def test_it_reports_bad_rows_and_applies_nothing(city_admin, two_codes):
    """Bad checksum, unknown category, future date, a duplicate (same ID and category) and a
    missing name: every bad row is reported with its row number and field; no batch, no
    entries, no colour changed."""
    day = listed_day().isoformat()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    good = id_number(seq=201)
    bad_checksum = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows = [
        ("赵小刚", good, "确诊病例", day, ""),  # row 2: fine
        ("钱多多", bad_checksum, "确诊病例", day, ""),  # row 3
        ("孙某某", id_number(seq=203), "发热病人", day, ""),  # row 4
        ("李某某", id_number(seq=204), "疑似病例", tomorrow, ""),  # row 5
        ("赵小刚", good, "确诊", day, ""),  # row 6: duplicate of row 2
        ("", id_number(seq=205), "密切接触者", "2020/13/01", ""),  # row 7
    ]
    with pytest.raises(ImportRejected) as caught:
        lists.import_official_list(actor=city_admin, file=csv_upload(rows))
    by_row = {r.row: r.errors for r in caught.value.rows}
    assert sorted(by_row) == [3, 4, 5, 6, 7]
    assert "校验位" in by_row[3]["id_number"][0]
    assert "类别" in by_row[4]["kind"][0]
    assert "不能晚于今天" in by_row[5]["listed_on"][0]
    assert "与第 2 行重复" in by_row[6]["id_number"][0]
    assert set(by_row[7]) == {"name", "listed_on"}
    assert "有 5 行有误" in caught.value.message_dict["file"][0]
    assert not OfficialListImport.objects.exists()
    assert not OfficialListEntry.objects.exists()
    assert not AuditRecord.objects.filter(action="official_list_import").exists()
    assert {c.color for c in HealthCode.objects.all()} == {"green"}


def test_it_allows_the_same_person_in_two_categories(city_admin, two_codes):
    """A close contact later confirmed may be on both lists in one file."""
    day = listed_day().isoformat()
    rows = [
        ("赵小刚", id_number(seq=201), "密切接触者", day, ""),
        ("赵小刚", id_number(seq=201), "确诊病例", day, ""),
    ]
    batch = lists.import_official_list(actor=city_admin, file=csv_upload(rows))
    assert (batch.rows, batch.matched) == (2, 2)
    assert HealthCode.objects.get(pk=two_codes[0].pk).color == "red"


def test_it_refuses_the_same_file_twice(city_admin, two_codes):
    """The second upload of identical bytes is refused naming the earlier batch; nothing
    more is stored."""
    content = csv_bytes(mixed_rows(listed_day()))
    first = lists.import_official_list(actor=city_admin, file=SimpleUploadedFile("a.csv", content))
    with pytest.raises(ImportRejected) as caught:
        lists.import_official_list(actor=city_admin, file=SimpleUploadedFile("b.csv", content))
    message = caught.value.message_dict["file"][0]
    assert "不能重复导入" in message and f"第 {first.pk} 批" in message
    assert OfficialListImport.objects.count() == 1 and OfficialListEntry.objects.count() == 4


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "文件是空的"),
        (csv_bytes([], header=("姓名", "类别", "列入日期")), "缺少必需的列：身份证号"),
        (
            csv_bytes([("a", "b", "c", "d", "e", "f")], header=(*HEADER, "电话")),
            "无法识别的列：电话",
        ),
        (csv_bytes([]), "没有名单数据"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "不支持 Excel 97-2003"),
    ],
)
def test_it_refuses_unreadable_files(city_admin, content, expected):
    """Empty files, wrong headers, no rows, old Excel: one clear message, nothing stored."""
    with pytest.raises(ImportRejected) as caught:
        lists.import_official_list(actor=city_admin, file=SimpleUploadedFile("x.csv", content))
    assert expected in " ".join(caught.value.message_dict["file"])
    assert caught.value.rows == []
    assert not OfficialListImport.objects.exists()


def test_it_refuses_a_numeric_id_cell_with_a_hint(city_admin):
    """An ID number typed as a number in Excel loses digits: the row says why."""
    rows = [("赵小刚", 450103199003072010, "确诊病例", listed_day().isoformat(), None)]
    upload = SimpleUploadedFile("n.xlsx", xlsx_bytes(rows))
    with pytest.raises(ImportRejected) as caught:
        lists.import_official_list(actor=city_admin, file=upload)
    messages = caught.value.rows[0].errors["id_number"]
    assert any("文本" in m for m in messages)


@pytest.mark.parametrize("persona", ["district_admin", "resident"])
def test_it_lets_only_city_admins_import(request, persona, two_codes):
    """Lists are city-wide: a district admin or a resident gets 403 and nothing is stored."""
    actor = request.getfixturevalue(persona)
    with pytest.raises(ApiError) as caught:
        lists.import_official_list(actor=actor, file=csv_upload(mixed_rows(listed_day())))
    assert caught.value.status == 403
    assert not OfficialListImport.objects.exists()


def test_it_matches_a_large_list_without_a_query_per_row(
    city_admin, two_codes, django_assert_max_num_queries
):
    """1,500 rows (two with codes): a bounded number of queries, not one per row."""
    day = listed_day().isoformat()
    rows = [
        ("赵小刚", id_number(seq=201), "确诊病例", day, ""),
        ("钱多多", id_number(seq=202), "确诊病例", day, ""),
    ]
    rows += [
        (
            "某某某",
            id_number(born=date(1990, 1, 1) + timedelta(days=n // 900), seq=n % 900 + 100),
            "密切接触者",
            day,
            "",
        )
        for n in range(1498)
    ]
    # The bound is what matters, not its value: a fixed number of queries for 1,500 rows (each
    # matched code's re-derivation, audit with its hash chain and notification add a few).
    with django_assert_max_num_queries(80):
        batch = lists.import_official_list(actor=city_admin, file=csv_upload(rows))
    assert (batch.rows, batch.matched, batch.unmatched) == (1500, 2, 1498)
    assert len(batch.unmatched_rows) == 1498


# --- After the import -----------------------------------------------------------------------------


def test_it_turns_a_later_declaration_red_at_once(city_admin):
    """Someone listed before applying is linked and red as soon as they declare."""
    day = listed_day()
    rows = [("周后申", id_number(seq=301), "无症状感染者", day.isoformat(), "")]
    batch = lists.import_official_list(actor=city_admin, file=csv_upload(rows))
    assert batch.unmatched == 1
    code = person("13900000301", 301, "周后申")
    assert code.color == "red"
    assert HealthCode.objects.get(pk=code.pk).color == "red"
    entry = OfficialListEntry.objects.get()
    assert entry.code_id == code.pk
    reason = official_reason(HealthCode.objects.get(pk=code.pk))
    assert day.isoformat() in reason["text_zh"]


def test_it_does_not_link_a_withdrawn_entry_on_declaration(city_admin):
    """A withdrawn entry stays off: the person who declares later is green."""
    rows = [("吴撤销", id_number(seq=302), "密切接触者", listed_day().isoformat(), "")]
    lists.import_official_list(actor=city_admin, file=csv_upload(rows))
    lists.withdraw_entry(actor=city_admin, entry=OfficialListEntry.objects.get())
    code = person("13900000302", 302, "吴撤销")
    assert code.color == "green"
    assert OfficialListEntry.objects.get().code_id is None


def test_it_rederives_the_code_when_an_entry_is_withdrawn(city_admin, two_codes):
    """Withdrawing a wrongly listed person: withdrawn_at set, the code back to green, the
    change recorded with cause official_list and audited; a second withdrawal → 400."""
    lists.import_official_list(actor=city_admin, file=csv_upload(mixed_rows(listed_day())))
    entry = OfficialListEntry.objects.get(code=two_codes[1])
    lists.withdraw_entry(actor=city_admin, entry=entry, reason="身份证号录入错误", ip="10.0.0.2")
    entry.refresh_from_db()
    assert entry.withdrawn_at is not None
    code = HealthCode.objects.get(pk=two_codes[1].pk)
    assert code.color == "green"
    assert not any(r["rule"] == "official_list" for r in code.reasons)
    last = code.changes.order_by("-at", "-id").first()
    assert (last.color_from, last.color_to, last.cause) == ("red", "green", "official_list")
    record = AuditRecord.objects.get(action="official_list_withdraw")
    assert record.detail["reason"] == "身份证号录入错误" and record.ip == "10.0.0.2"
    assert HealthCode.objects.get(pk=two_codes[0].pk).color == "red"  # the other stays
    with pytest.raises(ApiError) as caught:
        lists.withdraw_entry(actor=city_admin, entry=entry)
    assert caught.value.status == 400 and caught.value.code == "already_withdrawn"


def test_it_lets_only_city_admins_withdraw(city_admin, district_admin, two_codes):
    """A district admin cannot withdraw an entry (403); nothing changes."""
    lists.import_official_list(actor=city_admin, file=csv_upload(mixed_rows(listed_day())))
    entry = OfficialListEntry.objects.get(code=two_codes[0])
    with pytest.raises(ApiError) as caught:
        lists.withdraw_entry(actor=district_admin, entry=entry)
    assert caught.value.status == 403
    entry.refresh_from_db()
    assert entry.withdrawn_at is None


# --- The templates --------------------------------------------------------------------------------


def test_it_imports_a_filled_in_xlsx_template(city_admin, two_codes):
    """The downloadable XLSX template, filled in on its first sheet, imports as is."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(lists.template_xlsx()))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == [c.header for c in lists.COLUMNS]
    sheet.append(["赵小刚", id_number(seq=201), "确诊病例", listed_day().isoformat(), ""])
    out = io.BytesIO()
    workbook.save(out)
    batch = lists.import_official_list(
        actor=city_admin, file=SimpleUploadedFile("t.xlsx", out.getvalue())
    )
    assert batch.matched == 1


def test_it_imports_a_filled_in_csv_template(city_admin, two_codes):
    """The CSV template's note lines are skipped; rows added below it import."""
    content = lists.template_csv() + (
        f"钱多多,{id_number(seq=202)},密切接触者,{listed_day().isoformat()},\r\n".encode()
    )
    batch = lists.import_official_list(actor=city_admin, file=SimpleUploadedFile("t.csv", content))
    assert (batch.rows, batch.matched) == (1, 1)


# --- The command ----------------------------------------------------------------------------------


def test_the_command_imports_and_prints_counts_and_unmatched_rows(city_admin, two_codes, tmp_path):
    """manage.py import_official_list FILE --as PHONE: the same service; counts and the
    unmatched rows (masked) printed."""
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes(mixed_rows(listed_day())))
    out = io.StringIO()
    call_command("import_official_list", str(path), "--as", city_admin.phone, stdout=out)
    text = out.getvalue()
    assert "4 row(s), 2 matched, 2 unmatched" in text
    assert "unmatched row 4: 孙*码" in text and id_number(seq=203) not in text
    assert HealthCode.objects.get(pk=two_codes[0].pk).color == "red"
    assert OfficialListImport.objects.get().imported_by == city_admin


def test_the_command_prints_bad_rows_and_fails(city_admin, tmp_path):
    """Bad rows: every one printed, exit with an error, nothing imported."""
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([("赵小刚", "450103199003071", "确诊病例", "2020-02-21", "")]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_official_list", str(path), "--as", city_admin.phone, stderr=err)
    assert "row 2 身份证号" in err.getvalue()
    assert not OfficialListImport.objects.exists()


def test_the_command_refuses_a_non_city_admin_and_unknown_accounts(district_admin, tmp_path):
    """Only a city admin's phone may be given; an unknown phone or file is refused."""
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes([("赵小刚", id_number(seq=201), "确诊病例", "2020-02-21", "")]))
    with pytest.raises(CommandError, match="市级管理员"):
        call_command("import_official_list", str(path), "--as", district_admin.phone)
    with pytest.raises(CommandError, match="no account"):
        call_command("import_official_list", str(path), "--as", "13999999999")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_official_list", str(tmp_path / "x.csv"), "--as", district_admin.phone)
    assert not OfficialListImport.objects.exists()
