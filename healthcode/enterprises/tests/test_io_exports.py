"""The enterprise's exports: the employee roster and the health-attendance records as XLSX and
CSV, through GET /api/v1/enterprises/{id}/exports/… and the exports page — the files open and
their rows match the database; they name the exporter (masked) and the time; every export is
audited."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.enterprises import exports
from healthcode.enterprises.models import Attendance, Employee
from healthcode.enterprises.tests.conftest import NAMES
from healthcode.testing import ApiClient

pytestmark = pytest.mark.django_db

ROSTER_HEADER = [
    "姓名",
    "手机号",
    "部门",
    "是否复工人员",
    "复工日期",
    "健康码状态",
    "扫码权限",
    "添加时间",
]
ATTENDANCE_HEADER = [
    "扫码时间",
    "日期",
    "姓名",
    "手机号",
    "部门",
    "是否本企业员工",
    "健康码状态",
    "结论",
    "体温（℃）",
    "体温异常",
    "症状",
    "扫码人员",
]


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def xlsx_rows(response) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(body(response)), read_only=True)
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def csv_rows(response) -> list[list[str]]:
    raw = body(response)
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def staff(acme, scanner, employee):
    """acme's staff: the scanner and the employee personas (linked, green), an invitation
    returned to work, a department whose name looks like a formula, and one who left."""
    Employee.objects.create(
        enterprise=acme,
        name="覃邀请",
        phone="13900000001",
        department_name="生产部",
        returned_to_work=True,
        returned_on=date(2020, 2, 24),
    )
    Employee.objects.create(
        enterprise=acme,
        name="蒙公式",
        phone="13900000002",
        department_name='=HYPERLINK("x")',
    )
    Employee.objects.create(enterprise=acme, name="韦离职", phone="13900000003", active=False)
    return acme


@pytest.fixture
def attendance(acme, scanner, employee, resident):
    """Three days of attendance at acme: the employee on day 1 and 3 (fever on day 3),
    the resident (not an employee) on day 2, all scanned by the scanner persona."""
    day1 = date(2020, 2, 21)
    records = []
    for offset, user, temperature, symptoms in [
        (0, employee, "36.5", []),
        (1, resident, "36.8", []),
        (2, employee, "37.6", ["fever", "cough"]),
    ]:
        day = day1 + timedelta(days=offset)
        code = user.health_codes.get()
        records.append(
            Attendance.objects.create(
                enterprise=acme,
                employee=Employee.objects.filter(enterprise=acme, phone=user.phone).first(),
                code=code,
                scanner=scanner,
                at=timezone.make_aware(
                    datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
                ),
                day=day,
                color="green",
                verdict="may_work",
                temperature=Decimal(temperature),
                symptoms=symptoms,
            )
        )
    return records


# --- The roster -------------------------------------------------------------------------------


def test_it_exports_the_roster_as_xlsx_matching_the_database(manager, staff):
    """The XLSX opens with openpyxl: row 1 names the enterprise, the exporter (masked) and
    the time; row 2 the headers; then one row per active employee, full phones."""
    response = ApiClient(manager).get(f"/enterprises/{staff.pk}/exports/employees?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    rows = xlsx_rows(response)
    marker = rows[0][0]
    assert staff.name in marker and "138****0101" in marker and "导出时间" in marker
    assert list(rows[1]) == ROSTER_HEADER
    expected = Employee.objects.filter(enterprise=staff, active=True).order_by("pk")
    data = rows[2:]
    assert [(r[0], r[1], r[2] or "") for r in data] == [
        (e.name, e.phone, e.department_name) for e in expected
    ]
    by_phone = {r[1]: r for r in data}
    invited = by_phone["13900000001"]
    assert invited[3] == "是" and invited[4].date() == date(2020, 2, 24)
    assert invited[5] == "未关联健康码（邀请中）"
    assert by_phone[NAMES["scanner"][0]][5:7] == ("绿码", "是")
    assert by_phone["13900000002"][2] == '=HYPERLINK("x")'  # a string, never a formula
    assert "13900000003" not in by_phone


def test_it_exports_the_roster_as_csv_that_parses_back(manager, staff):
    """The CSV is streamed, starts with a BOM, and parses back to the same rows; a cell that
    would be a formula in Excel is neutralised."""
    response = ApiClient(manager).get(f"/enterprises/{staff.pk}/exports/employees?format=csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert "138****0101" in rows[0][0]
    assert rows[1] == ROSTER_HEADER
    expected = Employee.objects.filter(enterprise=staff, active=True).order_by("pk")
    assert [r[:2] for r in rows[2:]] == [[e.name, e.phone] for e in expected]
    by_phone = {r[1]: r for r in rows[2:]}
    assert by_phone["13900000001"][3:5] == ["是", "2020-02-24"]
    assert by_phone["13900000002"][2] == '\'=HYPERLINK("x")'


def test_it_audits_every_export_with_what_filters_and_rows(manager, co_manager, staff):
    """Each export is one audit record: who, what, format, filters and the number of rows."""
    ApiClient(manager).get(f"/enterprises/{staff.pk}/exports/employees?format=csv")
    ApiClient(co_manager).get(
        f"/enterprises/{staff.pk}/exports/attendance?format=xlsx&from=2020-02-01&to=2020-02-29"
    )
    records = list(AuditRecord.objects.filter(action="export").order_by("at", "id"))
    assert [(r.actor, r.detail["what"], r.detail["format"]) for r in records] == [
        (manager, "employees", "csv"),
        (co_manager, "attendance", "xlsx"),
    ]
    assert records[0].detail["rows"] == 4
    assert records[1].detail["filters"] == {"from": "2020-02-01", "to": "2020-02-29"}
    assert records[1].detail["rows"] == 0


# --- Attendance -------------------------------------------------------------------------------


def test_it_exports_attendance_as_xlsx_matching_the_database(manager, attendance):
    """Every record, oldest first: time, day, the employee's name and phone as on the staff
    list, the resident who is not an employee masked and without phone, temperature,
    abnormal flag, symptoms, scanner."""
    response = ApiClient(manager).get(
        f"/enterprises/{attendance[0].enterprise_id}/exports/attendance"
    )
    assert response.status_code == 200
    rows = xlsx_rows(response)
    assert "日期范围" in rows[0][0]
    assert list(rows[1]) == ATTENDANCE_HEADER
    data = rows[2:]
    assert len(data) == 3
    employee_phone, employee_name = NAMES["employee"]
    first, second, third = data
    assert first[0] == datetime(2020, 2, 21, 9, 0)
    assert first[1].date() == date(2020, 2, 21)
    assert (first[2], first[3], first[5]) == (employee_name, employee_phone, "是")
    assert (second[2], second[3], second[5]) == ("孙*民", None, "否")
    assert (third[8], third[9], third[10]) == (37.6, "是", "发热、咳嗽")
    assert first[7] == "可返岗"
    assert first[11] == NAMES["scanner"][1]


def test_it_exports_attendance_between_two_days_as_csv(manager, attendance):
    """from/to select the days (inclusive); the CSV parses back to those records."""
    enterprise_id = attendance[0].enterprise_id
    response = ApiClient(manager).get(
        f"/enterprises/{enterprise_id}/exports/attendance?format=csv&from=2020-02-22&to=2020-02-23"
    )
    assert response.status_code == 200
    rows = csv_rows(response)
    assert rows[1] == ATTENDANCE_HEADER
    assert [r[1] for r in rows[2:]] == ["2020-02-22", "2020-02-23"]
    assert rows[2][0] == "2020-02-22 09:00:00"
    assert rows[3][8:11] == ["37.6", "是", "发热、咳嗽"]
    only_first = ApiClient(manager).get(
        f"/enterprises/{enterprise_id}/exports/attendance?format=csv&to=2020-02-21"
    )
    assert [r[1] for r in csv_rows(only_first)[2:]] == ["2020-02-21"]


def test_it_refuses_bad_export_parameters(manager, acme):
    """A range ending before it starts → 400 on "to"; a malformed date or format → 400."""
    api = ApiClient(manager)
    backwards = api.get(f"/enterprises/{acme.pk}/exports/attendance?from=2020-02-23&to=2020-02-21")
    assert backwards.status_code == 400
    assert "to" in backwards.json()["errors"]
    assert api.get(f"/enterprises/{acme.pk}/exports/attendance?from=2020-02-31").status_code == 400
    assert api.get(f"/enterprises/{acme.pk}/exports/employees?format=pdf").status_code == 400
    assert not AuditRecord.objects.filter(action="export").exists()


# --- The page ---------------------------------------------------------------------------------


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_exports_page_with_the_four_downloads(manager, acme):
    """The page links to both exports in both formats."""
    response = page_client(manager).get(f"/enterprises/{acme.pk}/exports")
    assert response.status_code == 200
    html = response.content.decode()
    for element in (
        "export-employees-xlsx",
        "export-employees-csv",
        "export-attendance-xlsx",
        "export-attendance-csv",
    ):
        assert f'id="{element}"' in html


def test_it_downloads_the_exports_from_the_page(manager, staff, attendance):
    """The page's download URLs give the same files as the API."""
    client = page_client(manager)
    roster = client.get(f"/enterprises/{staff.pk}/exports/employees?format=xlsx")
    assert roster.status_code == 200
    assert list(xlsx_rows(roster)[1]) == ROSTER_HEADER
    records = client.get(
        f"/enterprises/{staff.pk}/exports/attendance?format=csv&from=2020-02-21&to=2020-02-21"
    )
    assert records.status_code == 200
    assert len(csv_rows(records)) == 3


def test_it_shows_bad_dates_on_the_exports_page(manager, acme):
    """A malformed or backwards range on the page → 400 page naming the field."""
    client = page_client(manager)
    response = client.get(f"/enterprises/{acme.pk}/exports/attendance?format=xlsx&from=2020-2-30")
    assert response.status_code == 400
    assert "日期格式应为" in response.content.decode()
    response = client.get(
        f"/enterprises/{acme.pk}/exports/attendance?format=csv&from=2020-02-23&to=2020-02-21"
    )
    assert response.status_code == 400
    assert "结束日期不能早于开始日期" in response.content.decode()
    response = client.get(f"/enterprises/{acme.pk}/exports/employees?format=pdf")
    assert response.status_code == 400
