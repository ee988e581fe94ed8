"""Exports of the roster: XLSX and CSV whose rows are exactly the filtered roster, marked with
the exporter and time in the first row, audited; large exports as background jobs with progress
whose file only the requester can download; statistics by colour × district."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from healthcode.audit.models import AuditRecord
from healthcode.backoffice import roster_export
from healthcode.backoffice.tests.test_roster_fixtures import *  # noqa: F403
from healthcode.enterprises.models import Employee
from healthcode.jobs.models import Job
from healthcode.jobs.services import Progress
from healthcode.testing import AdminApiClient, backoffice_client

pytestmark = pytest.mark.django_db

HEADER = [
    "用户",
    "用户健康码状态",
    "用户居住地址",
    "联系电话",
    "是否复工人员",
    "企业名称",
    "是否外地返回",
    "返回城市",
    "到邕时间",
]


@pytest.fixture(autouse=True)
def jobs_in_tmp(settings, tmp_path):
    settings.HEALTHCODE_JOBS_DIR = str(tmp_path / "jobs")


def expected_rows(client: AdminApiClient, query: str) -> list[list[Any]]:
    """The roster as the API pages it, as the cells an export must hold."""
    rows: list[list[Any]] = []
    page = 1
    while True:
        body = client.get(f"/admin/roster?page_size=100&page={page}&{query}").json()
        for r in body["results"]:
            rows.append(
                [
                    r["name"],
                    r["color_label"],
                    r["address"],
                    r["phone"],
                    "是" if r["returned_to_work"] else "否",
                    r["enterprise"],
                    "是" if r["returned_from_elsewhere"] else "否",
                    r["return_region_name"],
                    date.fromisoformat(r["arrival_date"]) if r["arrival_date"] else None,
                ]
            )
        if page >= body["pages"]:
            return rows
        page += 1


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def xlsx_rows(content: bytes) -> tuple[str, list[str], list[list[Any]]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    data = [
        [
            (c.date() if isinstance(c, datetime) else c)
            if c is not None
            else ("" if i < 8 else None)
            for i, c in enumerate(row)
        ]
        for row in rows[2:]
    ]
    return rows[0][0], rows[1], data


def csv_rows(content: bytes) -> tuple[str, list[str], list[list[Any]]]:
    assert content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    data = [[*r[:8], date.fromisoformat(r[8]) if r[8] else None] for r in rows[2:]]
    return rows[0][0], rows[1], data


def test_it_exports_exactly_the_filtered_roster_as_xlsx(district_admin, world):
    """The XLSX holds the SPEC §6 header and, row for row, the filtered roster in its sort
    order; its first row names the exporter (masked), the time and the filters."""
    client = AdminApiClient(district_admin)
    query = "returned_from_elsewhere=1&sort=-arrival"
    response = client.get(f"/admin/roster/export?format=xlsx&{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    marker, header, rows = xlsx_rows(body_of(response))
    assert header == HEADER
    assert rows == expected_rows(client, query)
    assert [r[0] for r in rows] == ["钱*丽", "赵*刚"]
    assert "导出人：138****0106" in marker and "导出时间：" in marker
    assert "是否外地返回：是" in marker and "已脱敏" in marker


def test_it_exports_exactly_the_filtered_roster_as_csv(city_admin, world):
    """Likewise the CSV, streamed; unmasked when a city admin asks (and the file says so)."""
    zhou = world["zhou"]
    acme = world["li"].employments.get().enterprise
    Employee.objects.create(enterprise=acme, name=zhou.name, phone=zhou.phone, code=zhou)
    client = AdminApiClient(city_admin)
    query = "district=450102&unmask=1&sort=name"
    response = client.get(f"/admin/roster/export?format=csv&{query}")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    marker, header, rows = csv_rows(body_of(response))
    assert header == HEADER
    assert rows == expected_rows(client, query)
    assert {r[0] for r in rows} == {"孙明", "李芳芳", "周大伟"}
    (zhou_row,) = [r for r in rows if r[0] == "周大伟"]
    assert set(zhou_row[5].split("、")) == {"南宁环球商贸有限公司", "南宁艾克米制造有限公司"}
    assert "未脱敏" in marker and "城区：广西壮族自治区南宁市兴宁区" in marker


def test_it_audits_every_export(district_admin, world):
    """Who, filters, row count, format and masking go to the audit log."""
    AdminApiClient(district_admin).get("/admin/roster/export?format=csv&color=red&unmask=1")
    record = AuditRecord.objects.get(action="export")
    assert record.actor == district_admin
    assert record.detail == {
        "what": "roster",
        "format": "csv",
        "filters": {"color": "red"},
        "rows": 1,
        "masked": False,
        "job": None,
    }


def test_it_refuses_a_bad_format_or_filter(city_admin):
    """400 naming the field: an unknown format, a bad filter."""
    client = AdminApiClient(city_admin)
    response = client.get("/admin/roster/export?format=pdf")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["format"]
    response = client.get("/admin/roster/export?format=csv&arrival_from=2020-02-31")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["arrival_from"]
    response = client.post("/admin/roster/export-jobs", {"format": "ods"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["format"]
    response = client.get("/admin/roster/stats-export?format=csv&color=pink")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["color"]
    assert not Job.objects.exists()


def test_it_runs_a_large_export_as_a_job_with_progress(
    city_admin, world, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Above the direct limit the export answers 202 with a job; the job reports its progress
    as it writes and ends with the file, whose rows are the filtered roster."""
    settings.HEALTHCODE_EXPORT_DIRECT_MAX_ROWS = 3
    monkeypatch.setattr(roster_export, "PROGRESS_STEP", 2)
    advances: list[int] = []
    original = Progress.advance
    monkeypatch.setattr(
        Progress, "advance", lambda self, n=1: (advances.append(n), original(self, n))[1]
    )
    client = AdminApiClient(city_admin)
    query = "returned_from_elsewhere=0&sort=name"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/admin/roster/export?format=xlsx&{query}")
    assert response.status_code == 202
    job_id = response.json()["job"]["id"]
    expected = expected_rows(client, query)
    assert advances == [2] * (len(expected) // 2) + ([1] if len(expected) % 2 else [])

    status = client.get(f"/admin/jobs/{job_id}").json()["job"]
    assert (status["status"], status["percent"]) == ("done", 100)
    assert status["total"] == status["done"] == len(expected) == status["result"]["rows"]
    assert status["download_url"] == f"/api/v1/admin/jobs/{job_id}/download"
    download = client.get(f"/admin/jobs/{job_id}/download")
    assert download.status_code == 200
    marker, header, rows = xlsx_rows(body_of(download))
    assert header == HEADER and rows == expected
    assert "138****0108" in marker

    export = AuditRecord.objects.get(action="export")
    assert export.detail["job"] == job_id and export.detail["rows"] == len(expected)
    assert AuditRecord.objects.filter(action="export_download", subject_id=str(job_id)).exists()


def test_it_starts_a_job_on_request_and_keeps_no_id_number_in_clear(
    city_admin, world, django_capture_on_commit_callbacks
):
    """POST /roster/export-jobs always starts a job, even for one row; an ID-number query is
    stored as its blind index only, and still finds the person."""
    from healthcode.backoffice.tests.test_roster_fixtures import full_id_number

    client = AdminApiClient(city_admin)
    number = full_id_number("qian")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/roster/export-jobs",
            {"format": "csv", "person": number, "returned_to_work": True, "unmask": True},
        )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert number not in str(job.params)
    assert job.params["filters"]["returned_to_work"] == "1"
    _marker, _header, rows = csv_rows(body_of(client.get(f"/admin/jobs/{job.pk}/download")))
    assert [r[0] for r in rows] == ["钱丽丽"]
    assert number not in str(AuditRecord.objects.get(action="export").detail)


def test_it_serves_a_jobs_file_only_to_its_requester(
    city_admin, district_admin, other_district_admin, world, django_capture_on_commit_callbacks
):
    """Another admin — even a city admin — gets 404 for someone else's job and its file, in
    the API and on the page."""
    with django_capture_on_commit_callbacks(execute=True):
        job_id = (
            AdminApiClient(district_admin)
            .post("/admin/roster/export-jobs", {"format": "xlsx"})
            .json()["job"]["id"]
        )
    for other in (city_admin, other_district_admin):
        client = AdminApiClient(other)
        assert client.get(f"/admin/jobs/{job_id}").status_code == 404
        assert client.get(f"/admin/jobs/{job_id}/download").status_code == 404
        page = backoffice_client(other).get(f"/backoffice/roster/jobs/{job_id}/download")
        assert page.status_code == 404
    page = backoffice_client(district_admin).get(f"/backoffice/roster/jobs/{job_id}/download")
    assert page.status_code == 200
    assert AdminApiClient(district_admin).get("/admin/jobs/999999").status_code == 404


def test_it_says_when_a_jobs_file_is_not_ready(district_admin, world):
    """A job still queued (the worker has not run it): 409 for the file, progress 0."""
    client = AdminApiClient(district_admin)
    job_id = client.post("/admin/roster/export-jobs", {"format": "xlsx"}).json()["job"]["id"]
    assert client.get(f"/admin/jobs/{job_id}").json()["job"]["status"] == "queued"
    response = client.get(f"/admin/jobs/{job_id}/download")
    assert response.status_code == 409 and response.json()["error"] == "not_ready"


def test_it_exports_statistics_by_colour_and_district(city_admin, world):
    """Counts by colour × district for the filters, with a total row, as XLSX; audited."""
    response = AdminApiClient(city_admin).get("/admin/roster/stats-export?format=xlsx&color=red")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(body_of(response)), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "健康码状态：红码" in rows[0][0]
    assert rows[1] == ["城区", "绿码", "黄码", "红码", "合计"]
    assert rows[2:] == [
        ["广西壮族自治区南宁市兴宁区", 0, 0, 1, 1],
        ["广西壮族自治区南宁市青秀区", 0, 0, 1, 1],
        ["合计", 0, 0, 2, 2],
    ]
    record = AuditRecord.objects.get(action="export")
    assert record.detail["what"] == "roster_stats" and record.detail["rows"] == 2


def test_the_page_exports_and_shows_a_jobs_progress(
    district_admin, world, settings, django_capture_on_commit_callbacks
):
    """The page's buttons: a direct XLSX of the filtered roster; over the limit, a job and back
    to the roster with its progress bar and download link; the explicit job button too."""
    client = backoffice_client(district_admin)
    page = client.get("/backoffice/roster?color=red").content.decode()
    assert 'href="/backoffice/roster/export?format=xlsx&amp;color=red"' in page
    response = client.get("/backoffice/roster/export?format=xlsx&color=red")
    assert response.status_code == 200
    assert [r[0] for r in xlsx_rows(body_of(response))[2]] == ["赵*刚"]

    settings.HEALTHCODE_EXPORT_DIRECT_MAX_ROWS = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/backoffice/roster/export?format=csv&district=450103")
    assert response.status_code == 302
    job = Job.objects.get()
    assert response["Location"] == f"/backoffice/roster?district=450103&job={job.pk}"
    page = client.get(response["Location"]).content.decode()
    assert 'id="job-progress"' in page and 'value="100"' in page
    assert f'href="/backoffice/roster/jobs/{job.pk}/download"' in page
    assert (
        'id="job-download" href' in page and "hidden" not in page.split('id="job-download"')[1][:80]
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/backoffice/roster/export-job", {"format": "xlsx", "color": "yellow"}
        )
    assert response.status_code == 302 and "color=yellow" in response["Location"]
    latest = Job.objects.latest("pk")
    assert latest.params["filters"] == {"color": "yellow"} and latest.status == "done"
    response = client.get("/backoffice/roster/stats-export?format=csv")
    assert response.status_code == 200


def test_the_page_shows_bad_filters_by_their_fields(district_admin):
    """400 with the message by the field; an unknown export format likewise."""
    client = backoffice_client(district_admin)
    response = client.get("/backoffice/roster?arrival_from=2020-02-20&arrival_to=2020-02-01")
    assert response.status_code == 400
    assert "到邕时间（止）不能早于到邕时间（起）。" in response.content.decode()
    response = client.get("/backoffice/roster/export?format=pdf")
    assert response.status_code == 400 and "导出格式须为 xlsx 或 csv。" in response.content.decode()
