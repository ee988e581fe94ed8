"""Browser: a district admin filters the roster (花名册) by colour, downloads the XLSX through
the page's button and finds exactly the filtered rows in it; then runs a background export and
downloads the job's file; and watches the progress bar of a job the worker runs later fill up
(roster.js polls the job's progress)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from healthcode.backoffice.models import AdminRole
from healthcode.codes import services as code_services
from healthcode.jobs.models import Job
from healthcode.jobs.services import run_job
from healthcode.testing import backoffice_client, declaration, id_number, make_user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("regions")]

RESIDENTS = [
    # phone, name, seq, district, Wuhan arrival (red) or none (green)
    ("13900000701", "赵小刚", 701, "450103", "2020-02-10"),
    ("13900000702", "钱丽丽", 702, "450103", None),
    ("13900000703", "孙大明", 703, "450103", "2020-02-12"),
    ("13900000704", "李芳芳", 704, "450102", "2020-02-11"),  # another district: never shown
]


def resident(phone: str, name: str, seq: int, district: str, arrival: str | None) -> None:
    facts = (
        {"returned_from_elsewhere": True, "return_region": "420100", "arrival_date": arrival}
        if arrival
        else {}
    )
    code_services.declare(
        account=make_user(phone),
        data=declaration(
            name=name,
            id_number=id_number(region=district, seq=seq),
            phone=phone,
            district=district,
            **facts,
        ),
    )


def as_backoffice_user(browser: Browser, live_server, user) -> Page:
    """A browser context holding a back-office session of `user` (password and second factor
    passed), as after the back-office login."""
    client = backoffice_client(user)
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def xlsx_rows(path: Path) -> tuple[str, list[str], list[list[object]]]:
    # Playwright saves downloads without an extension, which openpyxl refuses as a path.
    with open(path, "rb") as handle:
        sheet = load_workbook(handle, read_only=True).active
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return rows[0][0], rows[1], rows[2:]


def test_it_filters_the_roster_and_downloads_a_matching_xlsx(
    browser: Browser, live_server, transactional_db, settings, tmp_path
):
    settings.HEALTHCODE_JOBS_DIR = str(tmp_path / "jobs")
    for spec in RESIDENTS:
        resident(*spec)
    admin = make_user("13800000709")
    AdminRole.objects.create(user=admin, kind="district_admin", district_id="450103")

    page = as_backoffice_user(browser, live_server, admin)
    page.goto("/backoffice/roster")
    expect(page.locator("#roster")).to_contain_text("钱*丽")
    page.select_option("#id_color", "red")
    page.select_option("#id_sort", "arrival")
    page.click("#filter")
    expect(page.locator("#roster tbody tr")).to_have_count(2)
    expect(page.locator("#roster")).not_to_contain_text("钱*丽")
    expect(page.locator("#roster")).not_to_contain_text("李*芳")
    shown = [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in page.locator("#roster tbody tr").all()
    ]
    assert [row[0] for row in shown] == ["赵*刚", "孙*明"]

    with page.expect_download() as info:
        page.click("#export-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    marker, header, rows = xlsx_rows(download.path())
    assert header[:3] == ["用户", "用户健康码状态", "用户居住地址"] and len(header) == 9
    assert "导出人：138****0709" in marker and "健康码状态：红码" in marker
    assert [row[0] for row in rows] == [row[0] for row in shown]
    assert [row[1] for row in rows] == ["红码", "红码"]
    assert [row[3] for row in rows] == ["139****0701", "139****0703"]
    assert [row[8] for row in rows] == [datetime(2020, 2, 10), datetime(2020, 2, 12)]
    for file_row, page_row in zip(rows, shown, strict=True):
        assert [str(c) if c is not None else "" for c in file_row[:8]] == page_row[:8]

    # A background export of the same filter: the progress bar fills, the link appears.
    page.select_option("#job-format", "xlsx")
    page.click("#export-job")
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    expect(page.locator("#job-download")).to_be_visible()
    with page.expect_download() as info:
        page.click("#job-download")
    _marker, _header, job_rows = xlsx_rows(info.value.path())
    assert job_rows == rows

    # A job the worker has not run yet: roster.js polls its progress until it is done.
    job = Job.objects.create(
        kind="roster_export",
        params={"filters": {"color": "red"}, "format": "csv", "unmask": False, "ip": None},
        requested_by=admin,
    )
    page.goto(f"/backoffice/roster?color=red&job={job.pk}")
    expect(page.locator("#job-progress")).to_have_attribute("value", "0")
    expect(page.locator("#job-download")).to_be_hidden()
    run_job.call(job.pk)  # what the worker does
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    expect(page.locator("#job-status")).to_contain_text("已完成")
    expect(page.locator("#job-download")).to_be_visible()
