"""The enterprise module end to end in Chromium, as the issue's "Done when" describes it: a
manager registers an enterprise, a district admin approves it, the manager adds an employee by
hand and two by XLSX import and grants scan permission; the scanner decodes a real QR image
through the scanner page's own decoding path (jsQR) and records attendance; the live status
dashboard and the daily report reflect it."""

from __future__ import annotations

import io

import pytest
import segno
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from healthcode.backoffice.models import AdminRole
from healthcode.codes import keys
from healthcode.codes import services as code_services
from healthcode.enterprises.models import Attendance, DailyReport, Employee, Enterprise
from healthcode.testing import backoffice_client, credit_code, declaration, id_number, make_user

pytestmark = pytest.mark.usefixtures("regions")


def person(phone: str, name: str, seq: int):
    user = make_user(phone)
    code_services.declare(
        account=user, data=declaration(name=name, id_number=id_number(seq=seq), phone=phone)
    )
    return user


def as_user(browser: Browser, live_server, user, *, backoffice: bool = False) -> Page:
    """A browser context holding a session of `user`, as after a login (for the back office:
    after password and second factor)."""
    if backoffice:
        client = backoffice_client(user)
    else:
        client = Client()
        client.force_login(user)
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "部门", "是否复工人员", "复工日期"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_runs_the_enterprise_day(browser: Browser, live_server, transactional_db, tmp_path):
    manager = person("13800000601", "王经理", 601)
    scanner = person("13800000602", "张扫码", 602)
    worker = person("13800000603", "刘一", 603)
    person("13800000604", "陈二", 604)
    admin = make_user("13800000609")
    AdminRole.objects.create(user=admin, kind="district_admin", district_id="450103")

    # The manager registers the enterprise: pending.
    page = as_user(browser, live_server, manager)
    page.goto("/enterprises/register")
    page.fill("#id_name", "南宁示范制造有限公司")
    page.fill("#id_credit_code", credit_code(60))
    page.select_option("#id_district", "450103")
    page.select_option("#id_industry", "C")
    page.fill("#id_address", "南宁市青秀区示范路 1 号")
    page.fill("#id_contact_name", "王经理")
    page.click("#register-submit")
    expect(page.locator("#enterprise-status")).to_contain_text("待审核")
    enterprise = Enterprise.objects.get()

    # The district admin approves it in the back office.
    admin_page = as_user(browser, live_server, admin, backoffice=True)
    admin_page.goto("/backoffice/enterprises")
    admin_page.click(f"#approve-{enterprise.pk}")
    expect(admin_page.locator(f"#decided-{enterprise.pk}")).to_be_visible()
    enterprise.refresh_from_db()
    assert enterprise.status == "approved"

    # The manager adds the scanner by hand, two workers by XLSX import, grants scan permission.
    page.goto(f"/enterprises/{enterprise.pk}/")
    page.fill("#id_name", "张扫码")
    page.fill("#id_phone", scanner.phone)
    page.fill("#id_department_name", "保安部")
    page.click("#add-employee")
    expect(page.locator("#employee-table")).to_contain_text("张扫码")
    page.goto(f"/enterprises/{enterprise.pk}/import")
    upload = tmp_path / "staff.xlsx"
    upload.write_bytes(xlsx([["刘一", worker.phone, "装配车间", "是", "2020-02-24"],
                             ["陈二", "13800000604", "装配车间", "否", ""]]))  # fmt: skip
    page.set_input_files("#id_file", str(upload))
    page.click("#import-submit")
    expect(page.locator("#import-imported")).to_have_text("2")
    scanner_row = Employee.objects.get(phone=scanner.phone)
    page.goto(f"/enterprises/{enterprise.pk}/")
    page.click(f"#grant-scan-{scanner_row.pk}")
    expect(page.locator(f"#revoke-scan-{scanner_row.pk}")).to_be_visible()

    # The scanner decodes a real QR image of 刘一's code and records attendance.
    scan_page = as_user(browser, live_server, scanner)
    scan_page.goto(f"/enterprises/{enterprise.pk}/scan")
    payload, _ = keys.issue_token(worker.health_codes.get())
    image = tmp_path / "code.png"
    segno.make_qr(payload, error="q").save(str(image), kind="png", scale=8, border=4)
    scan_page.set_input_files("#qr-image", str(image))
    expect(scan_page.locator("#payload")).to_have_value(payload)
    expect(scan_page.locator("#verdict")).to_have_text("可返岗")
    scan_page.fill("#temperature", "36.6")
    scan_page.click("#record")
    expect(scan_page.locator("#attendance-result")).to_be_visible()
    assert Attendance.objects.get().employee.name == "刘一"

    # The dashboard and the daily report reflect it.
    page.goto(f"/enterprises/{enterprise.pk}/dashboard")
    expect(page.locator("#count-employees")).to_have_text("3")
    expect(page.locator("#scan-completion")).to_contain_text("1")
    page.goto(f"/enterprises/{enterprise.pk}/report")
    expect(page.locator("#fig-employees")).to_have_value("3")
    expect(page.locator("#fig-on_site")).to_have_value("1")
    page.click("#submit-report")
    expect(page.locator("#report-history")).to_be_visible()
    report = DailyReport.objects.get(enterprise=enterprise)
    assert (report.figures["employees"], report.figures["on_site"]) == (3, 1)
