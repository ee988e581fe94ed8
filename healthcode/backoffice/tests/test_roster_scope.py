"""Scope and masking of the roster: a district admin of 450103 never sees a code of 450102 (in
the page, the API, the exports or the statistics), the admin of 450102 the reverse; an industry
admin sees only the employees of its department's enterprises; names and phones are masked
unless the role may unmask AND the request asks, and each unmasked view is audited."""

from __future__ import annotations

import csv
import io

import pytest

from healthcode.audit.models import AuditRecord
from healthcode.backoffice.tests.test_roster_fixtures import *  # noqa: F403
from healthcode.testing import AdminApiClient, backoffice_client

pytestmark = pytest.mark.django_db

# Every persona's own code is in 青秀区 (the shared conftest declares them there).
QINGXIU = {"赵小刚", "钱丽丽", "王经理", "刘员工", "张扫码", "陈老板", "黄区管"}
XINGNING = {"孙明", "李芳芳", "周大伟"}
GXJ_EMPLOYEES = {"李芳芳", "刘员工", "张扫码"}


def api_names(user, query: str = "") -> set[str]:
    response = AdminApiClient(user).get(f"/admin/roster?unmask=1&page_size=100{query}")
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def csv_names(user, query: str = "", path: str = "/admin/roster/export") -> set[str]:
    response = AdminApiClient(user).get(f"{path}?format=csv&unmask=1{query}")
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return {row[0] for row in rows[2:]}


def page_text(user, query: str = "") -> str:
    response = backoffice_client(user).get(f"/backoffice/roster?unmask=1&page_size=100{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_it_keeps_a_district_admin_in_its_district(district_admin, other_district_admin, world):
    """450103's admin sees 450103's residents only; asking for 450102 gives nobody — in the
    API, the page and the export alike; and 450102's admin the reverse."""
    assert api_names(district_admin) == QINGXIU
    assert api_names(district_admin, "&district=450102") == set()
    assert api_names(district_admin, "&person=13900000003") == set()  # 孙明 by phone
    assert csv_names(district_admin) == QINGXIU
    assert csv_names(district_admin, "&district=450102") == set()
    text = page_text(district_admin)
    assert "赵小刚" in text and not any(name in text for name in XINGNING)

    assert api_names(other_district_admin) == XINGNING
    assert csv_names(other_district_admin) == XINGNING
    text = page_text(other_district_admin, "&color=red")
    assert "孙明" in text and "赵小刚" not in text


def test_it_limits_an_industry_admin_to_its_departments_employees(industry_admin, world):
    """工信局's admin sees the employees of acme (工信局) wherever they live, and nobody else."""
    assert api_names(industry_admin) == {"李*芳", "刘*工", "张*码"}  # masked: may not unmask
    client = AdminApiClient(industry_admin)
    body = client.get("/admin/roster?page_size=100&district=450102").json()
    assert [row["name"] for row in body["results"]] == ["李*芳"]
    response = client.get("/admin/roster/export?format=csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert {row[0] for row in list(csv.reader(io.StringIO(text)))[2:]} == {
        "李*芳",
        "刘*工",
        "张*码",
    }


def test_it_scopes_the_statistics_export(district_admin, other_district_admin, world):
    """The colour × district counts are those of the admin's scope only."""
    response = AdminApiClient(district_admin).get("/admin/roster/stats-export?format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1] == ["城区", "绿码", "黄码", "红码", "合计"]
    assert [r[0] for r in rows[2:]] == ["广西壮族自治区南宁市青秀区", "合计"]
    assert rows[2][1:] == ["5", "1", "1", "7"]
    response = AdminApiClient(other_district_admin).get("/admin/roster/stats-export?format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[-1][1:] == ["2", "0", "1", "3"]


def test_it_masks_by_default_and_unmasks_on_request_with_an_audit(district_admin, world):
    """Masked (赵*刚, 139****0001) unless asked; an unmasked page is audited with the filters
    and the row count; a masked one is not."""
    client = AdminApiClient(district_admin)
    masked = client.get("/admin/roster?color=red").json()
    assert masked["masked"] is True
    assert [(r["name"], r["phone"]) for r in masked["results"]] == [("赵*刚", "139****0001")]
    assert not AuditRecord.objects.filter(action="unmasked_view").exists()

    plain = client.get("/admin/roster?color=red&unmask=1").json()
    assert plain["masked"] is False
    assert [(r["name"], r["phone"]) for r in plain["results"]] == [("赵小刚", "13900000001")]
    record = AuditRecord.objects.get(action="unmasked_view")
    assert record.actor == district_admin
    assert record.detail == {
        "what": "roster",
        "filters": {"color": "red"},
        "page": 1,
        "rows": 1,
    }

    backoffice_client(district_admin).get("/backoffice/roster?unmask=1&person=13900000002")
    record = AuditRecord.objects.filter(action="unmasked_view").latest("pk")
    assert record.detail["filters"] == {"person": "139****0002"}  # the query itself masked
    assert record.detail["rows"] == 1


def test_it_never_unmasks_for_a_role_that_may_not(industry_admin, world):
    """An industry admin asking to unmask still gets masked data, and no unmasked view is
    recorded; the page offers no unmask box."""
    body = AdminApiClient(industry_admin).get("/admin/roster?unmask=1").json()
    assert body["masked"] is True
    assert all("*" in r["name"] and "****" in r["phone"] for r in body["results"])
    assert not AuditRecord.objects.filter(action="unmasked_view").exists()
    text = backoffice_client(industry_admin).get("/backoffice/roster?unmask=1").content.decode()
    assert 'id="id_unmask"' not in text and 'id="roster-masked"' in text


def test_it_unmasks_the_page_for_a_city_admin(city_admin, world):
    """The page shows the unmask box to roles that may, and full names once asked."""
    client = backoffice_client(city_admin)
    text = client.get("/backoffice/roster?color=yellow").content.decode()
    assert 'id="id_unmask"' in text and "钱*丽" in text and "钱丽丽" not in text
    text = client.get("/backoffice/roster?color=yellow&unmask=1").content.decode()
    assert "钱丽丽" in text and "13900000002" in text and 'id="roster-unmasked"' in text
