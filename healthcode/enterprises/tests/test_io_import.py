"""Bulk import of employees (添加员工, 批量导入) through POST /api/v1/enterprises/{id}/employees/import
and the import page: every bad row reported with its spreadsheet row number and reasons,
nothing imported unless all rows are good; the templates; the file limits."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.enterprises import imports
from healthcode.enterprises.models import Employee, Enterprise
from healthcode.enterprises.tests.conftest import NAMES
from healthcode.testing import ApiClient, credit_code

pytestmark = pytest.mark.django_db

HEADER = ["姓名", "手机号", "部门", "是否复工人员（是/否）", "复工日期（YYYY-MM-DD）"]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉兰萍红娥玲芬燕"


def person(i: int) -> list:
    """Row i of a generated staff list: a unique phone, a 3-character name, no health code."""
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[i % len(GIVEN)]
    returned = i % 3 == 0
    return [
        name,
        f"139{i:08d}",
        f"部门{(i % 12) + 1}" if i % 5 else "",
        "是" if returned else "否",
        "2020-02-24" if returned else "",
    ]


def xlsx_bytes(rows: list[list], header: list[str] = HEADER) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header)
    for index, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(
                    index, col, value, workbook.add_format({"num_format": "yyyy-mm-dd"})
                )
            elif isinstance(value, int | float):
                sheet.write_number(index, col, value)
            elif value != "":
                sheet.write_string(index, col, value)
    workbook.close()
    return buffer.getvalue()


def csv_text(rows: list[list], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def upload(api: ApiClient, enterprise, content: bytes, name: str = "staff.xlsx"):
    """POST the file as multipart, as a browser or the app would."""
    return api.client.post(
        f"/api/v1/enterprises/{getattr(enterprise, 'pk', enterprise)}/employees/import",
        {"file": SimpleUploadedFile(name, content)},
        **api.headers,
    )


def bad_rows(response) -> dict[int, dict[str, list[str]]]:
    return {r["row"]: r["errors"] for r in response.json()["rows"]}


def imported_phones(enterprise) -> set[str]:
    return set(Employee.objects.filter(enterprise=enterprise).values_list("phone", flat=True))


# --- The Done-when point ----------------------------------------------------------------------


def test_it_reports_exactly_the_three_bad_rows_of_ten_thousand_and_then_imports_all(
    manager, acme, resident
):
    """10,000 rows with 3 bad ones (a malformed phone at row 7, a name that is not the
    phone's registered person at row 5002, a phone repeated from row 2 at row 9999) →
    400 naming exactly those 3 rows and nothing imported; fixed → all 10,000 imported,
    the resident's row linked to their code, the others kept as invitations."""
    before = imported_phones(acme)
    rows = [person(i) for i in range(10_000)]
    resident_phone, resident_name = NAMES["resident"]
    rows[5000] = ["孙冒名", resident_phone, "行政部", "否", ""]  # row 5002
    rows[5] = ["钱多多", "12345", "", "否", ""]  # row 7
    rows[9997] = ["李重复", rows[0][1], "", "否", ""]  # row 9999
    api = ApiClient(manager)

    response = upload(api, acme, xlsx_bytes(rows))

    assert response.status_code == 400, response.content[:500]
    errors = bad_rows(response)
    assert sorted(errors) == [7, 5002, 9999]
    assert list(errors[7]) == ["phone"]
    assert list(errors[5002]) == ["name"]
    assert "不一致" in errors[5002]["name"][0]
    assert "第 2 行重复" in errors[9999]["phone"][0]
    assert "3 行有误" in response.json()["errors"]["file"][0]
    assert imported_phones(acme) == before

    rows[5000] = [resident_name, resident_phone, "行政部", "否", ""]
    rows[5] = ["钱多多", "13912345678", "", "否", ""]
    rows[9997] = ["李重复", "13987654321", "", "否", ""]
    response = upload(api, acme, xlsx_bytes(rows))

    assert response.status_code == 201, response.content[:500]
    assert response.json() == {"imported": 10_000, "linked": 1, "invited": 9_999}
    added = Employee.objects.filter(enterprise=acme).exclude(phone__in=before)
    assert added.count() == 10_000
    linked = added.get(phone=resident_phone)
    assert linked.code == resident.health_codes.get()
    assert added.filter(code__isnull=False).count() == 1
    sample = added.get(phone=rows[3][1])  # i = 3: returned to work on 2020-02-24
    assert (sample.name, sample.department_name) == (rows[3][0], rows[3][2])
    assert sample.returned_to_work and sample.returned_on == date(2020, 2, 24)


# --- Formats ----------------------------------------------------------------------------------


def test_it_imports_a_csv_with_a_bom(manager, acme):
    """Excel's "CSV UTF-8" (with a BOM) imports, Chinese intact."""
    content = codecs.BOM_UTF8 + csv_text([person(1), person(3)]).encode("utf-8")
    response = upload(ApiClient(manager), acme, content, "staff.csv")
    assert response.status_code == 201, response.json()
    assert response.json() == {"imported": 2, "linked": 0, "invited": 2}
    assert Employee.objects.get(phone=person(3)[1]).name == person(3)[0]


def test_it_imports_a_gb18030_csv(manager, acme):
    """Excel's default CSV on Chinese Windows (GBK/GB18030, no BOM) imports, Chinese intact."""
    content = csv_text([person(2), person(6)]).encode("gb18030")
    response = upload(ApiClient(manager), acme, content, "staff.csv")
    assert response.status_code == 201, response.json()
    employee = Employee.objects.get(phone=person(6)[1])
    assert (employee.name, employee.department_name) == (person(6)[0], person(6)[2])


def test_it_imports_excels_unicode_text(manager, acme):
    """Excel's "Unicode text" (UTF-16 with a BOM, tab-separated) imports too."""
    text = "\r\n".join("\t".join(r) for r in [HEADER, person(1), person(2)]) + "\r\n"
    response = upload(ApiClient(manager), acme, text.encode("utf-16"), "staff.txt")
    assert response.status_code == 201, response.json()
    assert Employee.objects.get(phone=person(2)[1]).name == person(2)[0]


def test_it_accepts_english_headers_and_excel_dates(manager, acme):
    """English column names, columns in another order, a real date cell, phone as a number,
    and a blank row in the middle (skipped, later row numbers unchanged)."""
    header = ["phone", "name", "returned_to_work", "returned_on", "department"]
    day = timezone.localdate() - timedelta(days=3)
    rows = [
        [13900000001, "黄一", "是", day, "仓库"],
        ["", "", "", "", ""],
        ["13900000002", "黄二", "", "", ""],
    ]
    response = upload(ApiClient(manager), acme, xlsx_bytes(rows, header))
    assert response.status_code == 201, response.json()
    first = Employee.objects.get(phone="13900000001")
    assert (first.name, first.returned_on, first.department_name) == ("黄一", day, "仓库")
    assert Employee.objects.get(phone="13900000002").returned_to_work is False


def test_it_numbers_rows_as_the_spreadsheet_shows_them_past_blank_rows(manager, acme):
    """A bad row after blank rows keeps the number Excel shows for it."""
    rows = [person(1), ["", "", "", "", ""], ["", "", "", "", ""], ["王五", "1390", "", "", ""]]
    response = upload(ApiClient(manager), acme, xlsx_bytes(rows))
    assert response.status_code == 400
    assert list(bad_rows(response)) == [5]


def test_it_refuses_a_file_with_wrong_headers_naming_the_missing_columns(manager, acme):
    """Headers that are not the template's → 400 naming the missing and the unknown columns."""
    content = csv_text([["张三", "13900000001"]], header=["名字", "电话号码"]).encode()
    response = upload(ApiClient(manager), acme, content, "staff.csv")
    assert response.status_code == 400
    body = response.json()
    assert body["rows"] == []
    messages = " ".join(body["errors"]["file"])
    assert "缺少必需的列：姓名、手机号" in messages
    assert "无法识别的列：名字、电话号码" in messages
    assert not Employee.objects.filter(phone="13900000001").exists()


def test_it_refuses_empty_and_header_only_files(manager, acme):
    """An empty file and a file with only the header (like the template) → 400 saying so."""
    api = ApiClient(manager)
    empty = upload(api, acme, b"", "staff.csv")
    assert empty.status_code == 400
    assert "空" in empty.json()["errors"]["file"][0]
    header_only = upload(api, acme, imports.template_xlsx())
    assert header_only.status_code == 400
    assert "没有员工数据" in header_only.json()["errors"]["file"][0]


def test_it_refuses_files_over_the_size_and_row_limits(manager, acme, monkeypatch):
    """Over the size cap or the row cap → 400 with the limit, nothing imported."""
    api = ApiClient(manager)
    monkeypatch.setattr(imports, "MAX_BYTES", 100)
    response = upload(api, acme, csv_text([person(i) for i in range(10)]).encode(), "staff.csv")
    assert response.status_code == 400
    assert "不能超过" in response.json()["errors"]["file"][0]
    monkeypatch.setattr(imports, "MAX_BYTES", 5 * 1024 * 1024)
    monkeypatch.setattr(imports, "MAX_ROWS", 5)
    response = upload(api, acme, xlsx_bytes([person(i) for i in range(6)]))
    assert response.status_code == 400
    assert "最多导入 5 名员工" in response.json()["errors"]["file"][0]
    assert not Employee.objects.filter(phone__startswith="139").exists()


def test_it_refuses_files_that_are_not_xlsx_or_csv(manager, acme):
    """An old .xls, a file named .xlsx that is not one, a zip that is not a workbook, binary
    data → 400 saying what to upload instead; a request without a file → 400 on "file"."""
    api = ApiClient(manager)
    xls = upload(api, acme, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "staff.xls")
    assert "xls" in xls.json()["errors"]["file"][0]
    fake = upload(api, acme, b"name,phone\n", "staff.xlsx")
    assert fake.status_code == 400 and "不是 Excel" in fake.json()["errors"]["file"][0]
    archive = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hello.txt", "hi")
    not_workbook = upload(api, acme, archive.getvalue(), "staff.xlsx")
    assert not_workbook.status_code == 400
    binary = upload(api, acme, b"\x00\x01\x02" * 50, "staff.bin")
    assert binary.status_code == 400
    missing = api.client.post(f"/api/v1/enterprises/{acme.pk}/employees/import", {}, **api.headers)
    assert missing.status_code == 400
    assert "file" in missing.json()["errors"]


# --- Row checks -------------------------------------------------------------------------------


def test_it_refuses_phones_repeated_within_the_file(manager, acme):
    """The second and later rows with a phone already in the file are bad, naming the first."""
    rows = [
        person(1),
        person(2),
        ["周重复", person(1)[1], "", "", ""],
        ["吴重复", f"+86 {person(1)[1]}", "", "", ""],
    ]
    response = upload(ApiClient(manager), acme, csv_text(rows).encode(), "staff.csv")
    assert response.status_code == 400
    errors = bad_rows(response)
    assert sorted(errors) == [4, 5]
    assert all("第 2 行重复" in e["phone"][0] for e in errors.values())


def test_it_refuses_a_name_that_is_not_the_phones_registered_person(manager, acme, resident):
    """A phone that has a health code under another name → that row refused on "name"."""
    phone, _ = NAMES["resident"]
    rows = [person(1), ["孙不对", phone, "", "", ""]]
    response = upload(ApiClient(manager), acme, csv_text(rows).encode(), "staff.csv")
    assert response.status_code == 400
    assert bad_rows(response) == {
        3: {"name": ["姓名与该手机号登记的健康码持有人不一致：请核对员工姓名和手机号。"]}
    }


def test_it_refuses_phones_already_on_the_staff_list(manager, acme, employee):
    """A phone that is already an active employee of this enterprise → row refused."""
    phone, name = NAMES["employee"]
    response = upload(
        ApiClient(manager), acme, csv_text([[name, phone, "", "", ""]]).encode(), "s.csv"
    )
    assert response.status_code == 400
    assert "已是本企业的在职员工" in bad_rows(response)[2]["phone"][0]


def test_it_reports_every_reason_of_a_row_by_field(manager, acme):
    """Several problems in one row are each reported under their column."""
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    rows = [
        ["X", "1", "", "也许", ""],
        ["韦明", "13900000009", "", "是", "2020-13-01"],
        ["韦亮", "13900000010", "", "是", tomorrow],
    ]
    response = upload(ApiClient(manager), acme, csv_text(rows).encode(), "staff.csv")
    errors = bad_rows(response)
    assert set(errors[2]) == {"name", "phone", "returned_to_work"}
    assert "YYYY-MM-DD" in errors[3]["returned_on"][0]
    assert "不能晚于今天" in errors[4]["returned_on"][0]


def test_it_refuses_an_import_into_an_enterprise_not_approved(manager):
    """A pending enterprise cannot take employees yet → 403, nothing imported."""
    pending = Enterprise.objects.create(
        name="南宁待审核有限公司",
        credit_code=credit_code(77),
        district_id="450103",
        industry="C",
        department="gxj",
        address="南宁市",
        contact_name="王",
        contact_phone=manager.phone,
        status="pending",
        registered_by=manager,
    )
    pending.managers.create(user=manager, role="owner")
    response = upload(ApiClient(manager), pending, csv_text([person(1)]).encode(), "staff.csv")
    assert response.status_code == 403
    assert response.json()["error"] == "enterprise_not_approved"
    assert not Employee.objects.filter(enterprise=pending).exists()


def test_it_audits_an_import_once_with_counts_and_no_personal_data(manager, acme):
    """One audit record per import: the counts and the format, no names or phones."""
    upload(ApiClient(manager), acme, xlsx_bytes([person(i) for i in range(5)]))
    record = AuditRecord.objects.get(action="employee_import")
    assert record.actor == manager
    assert record.subject_id == str(acme.pk)
    assert record.detail == {
        "format": "xlsx",
        "bytes": record.detail["bytes"],
        "imported": 5,
        "linked": 0,
        "invited": 5,
    }
    assert person(0)[1] not in str(record.detail)


def test_it_skips_note_lines_and_accepts_the_filled_in_template(manager, acme):
    """The downloaded XLSX template, filled in with openpyxl (as Excel would), imports; the
    CSV template's "#" lines are skipped."""
    workbook = openpyxl.load_workbook(io.BytesIO(imports.template_xlsx()))
    sheet = workbook.worksheets[0]
    sheet.append(person(4))
    sheet.append(person(8))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert upload(ApiClient(manager), acme, buffer.getvalue()).status_code == 201
    content = imports.template_csv() + csv_text([person(9)]).split("\r\n", 1)[1].encode()
    response = upload(ApiClient(manager), acme, content, "staff.csv")
    assert response.status_code == 201, response.json()
    assert response.json()["imported"] == 1


# --- Templates --------------------------------------------------------------------------------


def test_it_serves_the_xlsx_template_with_its_headers_and_instructions(manager, acme):
    """The XLSX template opens with openpyxl: the headers on the first sheet, the example row
    on the instructions sheet."""
    response = ApiClient(manager).get(f"/enterprises/{acme.pk}/employees/template?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == imports.XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    first = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert list(first[0]) == HEADER
    notes = [c for row in workbook.worksheets[1].iter_rows(values_only=True) for c in row if c]
    assert "13800000000" in notes and "张三" in notes


def test_it_serves_the_csv_template_with_a_bom(manager, acme):
    """The CSV template starts with a UTF-8 BOM (so Excel reads Chinese) and the headers."""
    response = ApiClient(manager).get(f"/enterprises/{acme.pk}/employees/template?format=csv")
    assert response.status_code == 200
    assert response.content.startswith(codecs.BOM_UTF8)
    first = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert first == HEADER
    bad = ApiClient(manager).get(f"/enterprises/{acme.pk}/employees/template?format=pdf")
    assert bad.status_code == 400


# --- The page ---------------------------------------------------------------------------------


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_import_page_with_the_form_and_template_links(manager, acme):
    """The page has the upload input, the submit button and both template links."""
    response = page_client(manager).get(f"/enterprises/{acme.pk}/import")
    assert response.status_code == 200
    html = response.content.decode()
    for element in (
        'id="id_file"',
        'id="import-submit"',
        'id="template-xlsx"',
        'id="template-csv"',
    ):
        assert element in html
    template = page_client(manager).get(f"/enterprises/{acme.pk}/import/template?format=csv")
    assert template.content.startswith(codecs.BOM_UTF8)


def test_it_shows_every_bad_row_on_the_page_and_imports_nothing(manager, acme):
    """Bad rows → 400 page with the row-by-row table (#import-errors) and nothing imported."""
    rows = [person(1), ["王五", "1390", "", "", ""], person(2), ["", "13900000099", "", "", ""]]
    response = page_client(manager).post(
        f"/enterprises/{acme.pk}/import",
        {"file": SimpleUploadedFile("staff.xlsx", xlsx_bytes(rows))},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="import-errors"' in html
    assert 'data-row="3"' in html and 'data-row="5"' in html
    assert 'data-row="2"' not in html and 'data-row="4"' not in html
    assert "手机号" in html and "请填写员工姓名" in html
    assert not Employee.objects.filter(phone=person(1)[1]).exists()


def test_it_shows_the_summary_after_an_import_on_the_page(manager, acme):
    """A good file → the summary (#import-result) with the counts."""
    response = page_client(manager).post(
        f"/enterprises/{acme.pk}/import",
        {"file": SimpleUploadedFile("staff.csv", csv_text([person(1), person(2)]).encode())},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="import-result"' in html
    assert 'id="import-imported">2<' in html
    assert Employee.objects.filter(phone__in=[person(1)[1], person(2)[1]]).count() == 2


def test_it_asks_for_a_file_when_the_page_is_posted_without_one(manager, acme):
    """No file chosen → 400 page saying so."""
    response = page_client(manager).post(f"/enterprises/{acme.pk}/import", {})
    assert response.status_code == 400
    assert "请选择要上传" in response.content.decode()


def test_it_documents_the_import_and_exports_in_the_openapi_schema(db):
    """The four endpoints are in /api/v1/schema: the import takes a multipart file and
    documents its 400 with the rows; the downloads document their file types."""
    paths = ApiClient().get("/schema").json()["paths"]
    base = "/api/v1/enterprises/{enterprise_id}"
    upload_op = paths[f"{base}/employees/import"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert upload_op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ImportErrorsOut"
    )
    for path in ("employees/template", "exports/employees", "exports/attendance"):
        content = paths[f"{base}/{path}"]["get"]["responses"]["200"]["content"]
        assert set(content) == {imports.XLSX_CONTENT_TYPE, "text/csv"}
