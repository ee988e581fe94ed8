"""Authorities' overview of daily reports: each admin sees the approved enterprises of its
scope, which have and have not reported; everyone else is refused (403 `not_an_admin`)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from healthcode.backoffice.models import AdminRole
from healthcode.enterprises.models import Enterprise
from healthcode.enterprises.reports import submit_report
from healthcode.testing import ApiClient, credit_code


@pytest.fixture
def reported(acme, globex, manager):
    """acme (青秀区, 工信局) has reported today; globex (兴宁区, 商务局) has not; a pending
    enterprise in 青秀区 is never listed."""
    submit_report(actor=manager, enterprise=acme, day=timezone.localdate())
    Enterprise.objects.create(
        name="南宁待审企业有限公司",
        credit_code=credit_code(9),
        district_id="450103",
        industry="C",
        department="gxj",
        address="南宁市某路 9 号",
        contact_name="某人",
        contact_phone="13800000199",
        status="pending",
    )
    return acme, globex


def _overview(user, query: str = ""):
    return ApiClient(user).get(f"/enterprises/reports{query}")


def test_it_shows_a_district_admin_its_district(reported, district_admin):
    """The 450103 district admin sees acme (reported), not globex nor the pending one."""
    response = _overview(district_admin)
    assert response.status_code == 200
    body = response.json()
    assert body["day"] == timezone.localdate().isoformat()
    assert [row["enterprise"]["name"] for row in body["items"]] == ["南宁艾克米制造有限公司"]
    assert body["items"][0]["reported"] is True
    assert body["items"][0]["report"]["figures"]["employees"] == 0
    assert body["items"][0]["enterprise"]["district_name"].endswith("青秀区")
    assert body["totals"] == {"enterprises": 1, "reported": 1, "not_reported": 0}


def test_it_shows_an_industry_admin_its_industry(reported, industry_admin):
    """The 工信局 admin sees acme (manufacturing), not globex (retail)."""
    body = _overview(industry_admin).json()
    assert [row["enterprise"]["id"] for row in body["items"]] == [reported[0].pk]
    assert body["items"][0]["enterprise"]["department_name"] == "市工信局"


def test_it_shows_a_city_admin_everything(reported, city_admin):
    """The city admin sees both approved enterprises: one reported, one not; filters work."""
    acme, globex = reported
    body = _overview(city_admin).json()
    assert body["totals"] == {"enterprises": 2, "reported": 1, "not_reported": 1}
    assert {row["enterprise"]["id"]: row["reported"] for row in body["items"]} == {
        acme.pk: True,
        globex.pk: False,
    }
    missing = _overview(city_admin, "?reported=false").json()["items"]
    assert [row["enterprise"]["id"] for row in missing] == [globex.pk]
    assert missing[0]["report"] is None
    paged = _overview(city_admin, "?limit=1&offset=1").json()
    assert len(paged["items"]) == 1 and paged["totals"]["enterprises"] == 2


def test_it_shows_another_day(reported, city_admin):
    """Another day: nobody has reported for it."""
    body = _overview(city_admin, "?day=2020-02-21").json()
    assert body["day"] == "2020-02-21"
    assert body["totals"] == {"enterprises": 2, "reported": 0, "not_reported": 2}


def test_it_refuses_a_bad_day(reported, city_admin):
    """A malformed day → 400 on `day`."""
    response = _overview(city_admin, "?day=yesterday")
    assert response.status_code == 400
    assert "day" in response.json()["errors"]


def test_it_refuses_non_admins(reported, resident, manager, db):
    """A resident, a manager and a reviewer are not admins overseeing enterprises: 403
    `not_an_admin`. Anonymous: 401."""
    reviewer = resident
    for user in (resident, manager):
        response = _overview(user)
        assert response.status_code == 403
        assert response.json()["error"] == "not_an_admin"
    AdminRole.objects.create(user=reviewer, kind="reviewer", district_id="450103")
    assert _overview(reviewer).status_code == 403
    assert ApiClient().get("/enterprises/reports").status_code == 401


def test_it_ignores_a_revoked_role(reported, district_admin):
    """A revoked admin role no longer gives access."""
    AdminRole.objects.filter(user=district_admin).update(revoked_at=timezone.now())
    assert _overview(district_admin).status_code == 403


def test_it_lists_reported_and_not_reported_on_the_page(reported, city_admin):
    """The overview page lists the reported enterprises and those that have not reported."""
    acme, globex = reported
    client = Client()
    client.force_login(city_admin)
    response = client.get("/enterprises/oversight/reports")
    assert response.status_code == 200
    html = response.content.decode()
    reported_table = html.split('id="reported"')[1].split("</table>")[0]
    missing_table = html.split('id="not-reported"')[1].split("</table>")[0]
    assert acme.name in reported_table and globex.name not in reported_table
    assert globex.name in missing_table and acme.name not in missing_table
    assert "待审" not in html
    assert '<strong id="count-not-reported">1</strong>' in html


def test_it_limits_the_page_to_the_scope(reported, district_admin):
    """The district admin's page lists acme only."""
    acme, globex = reported
    client = Client()
    client.force_login(district_admin)
    html = client.get("/enterprises/oversight/reports").content.decode()
    assert acme.name in html and globex.name not in html


def test_it_refuses_the_page_to_non_admins(reported, resident):
    """Non-admins: 403; anonymous: to the login page."""
    client = Client()
    assert client.get("/enterprises/oversight/reports").status_code == 302
    client.force_login(resident)
    assert client.get("/enterprises/oversight/reports").status_code == 403
