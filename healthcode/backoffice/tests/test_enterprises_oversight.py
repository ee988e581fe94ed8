"""Enterprise oversight (item 7): /backoffice/enterprises and GET /api/v1/admin/enterprises list
the enterprises in the admin's scope with approval status, the day's report and employees by
colour; filters status and day; paging; a fixed number of queries per page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from healthcode.backoffice.tests.accounts_personas import *  # noqa: F403
from healthcode.codes.models import HealthCode
from healthcode.enterprises.models import Employee, Enterprise, EnterpriseManager
from healthcode.enterprises.reports import submit_report
from healthcode.testing import AdminApiClient, backoffice_client, credit_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(acme, globex, manager, scanner, employee):
    """acme (青秀区, 工信局): two linked employees (one green, one yellow) and an invitation,
    reported today; globex (兴宁区, 商务局): no employees, not reported; a pending enterprise
    in 青秀区 (工信局)."""
    HealthCode.objects.filter(account=employee).update(color="yellow")
    Employee.objects.create(enterprise=acme, name="未注册", phone="13800000199")
    submit_report(actor=manager, enterprise=acme, day=timezone.localdate())
    pending = Enterprise.objects.create(
        name="南宁待审企业有限公司",
        credit_code=credit_code(9),
        district_id="450103",
        industry="C",
        department="gxj",
        address="南宁市某路 9 号",
        contact_name="某人",
        contact_phone="13800000198",
        status="pending",
    )
    return acme, globex, pending


def _api(user, query: str = ""):
    return AdminApiClient(user).get(f"/admin/enterprises{query}")


def test_it_shows_a_city_admin_every_enterprise_with_report_and_colours(scene, city_admin):
    """All three, by name; acme's report and employees by colour; globex not reported."""
    acme, globex, pending = scene
    body = _api(city_admin).json()
    assert body["day"] == timezone.localdate().isoformat()
    assert body["total"] == 3
    assert body["by_status"] == {"pending": 1, "approved": 2, "rejected": 0}
    rows = {row["id"]: row for row in body["items"]}
    assert set(rows) == {acme.pk, globex.pk, pending.pk}
    assert rows[acme.pk]["reported"] is True
    assert rows[acme.pk]["report"]["figures"]["employees"] == 3
    assert rows[acme.pk]["colors"] == {
        "employees": 3,
        "green": 1,
        "yellow": 1,
        "red": 0,
        "unlinked": 1,
    }
    assert rows[globex.pk]["reported"] is False and rows[globex.pk]["report"] is None
    assert rows[globex.pk]["colors"]["employees"] == 0
    assert rows[pending.pk]["status"] == "pending"


def test_it_shows_a_district_admin_and_an_industry_admin_their_scope(
    scene, district_admin, industry_admin
):
    """青秀区's admin and 工信局's admin: acme and the pending one, never globex."""
    acme, globex, pending = scene
    for admin in (district_admin, industry_admin):
        ids = {row["id"] for row in _api(admin).json()["items"]}
        assert ids == {acme.pk, pending.pk}


def test_it_filters_by_status_and_day_and_pages(scene, city_admin):
    """status=pending gives the pending one; another day nobody has reported; limit/offset."""
    acme, globex, pending = scene
    body = _api(city_admin, "?status=pending").json()
    assert [row["id"] for row in body["items"]] == [pending.pk] and body["total"] == 1
    body = _api(city_admin, "?day=2020-02-21").json()
    assert body["day"] == "2020-02-21"
    assert not any(row["reported"] for row in body["items"])
    body = _api(city_admin, "?limit=1&offset=1").json()
    assert len(body["items"]) == 1 and body["total"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [("?status=closed", "status"), ("?day=2020-13-01", "day"), ("?limit=0", "limit")],
)
def test_it_answers_400_naming_the_bad_filter(scene, city_admin, query, field):
    """A bad status, day or limit: 400 naming it."""
    response = _api(city_admin, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_it_costs_the_same_queries_for_more_enterprises(scene, city_admin, manager):
    """Employees by colour are one aggregate query per page: ten more enterprises with
    employees do not add queries."""
    client = AdminApiClient(city_admin)
    client.get("/admin/enterprises")  # the token's first use writes its last_used_at
    with CaptureQueriesContext(connection) as before:
        assert client.get("/admin/enterprises").status_code == 200
    for i in range(10):
        enterprise = Enterprise.objects.create(
            name=f"南宁加测企业{i}",
            credit_code=credit_code(100 + i),
            district_id="450103",
            industry="C",
            department="gxj",
            address="南宁市某路",
            contact_name="某人",
            contact_phone="13800000197",
            status="approved",
        )
        EnterpriseManager.objects.create(enterprise=enterprise, user=manager, role="owner")
        Employee.objects.create(enterprise=enterprise, name="某员工", phone=f"1380000030{i}")
    with CaptureQueriesContext(connection) as after:
        body = client.get("/admin/enterprises").json()
    assert body["total"] == 13
    assert len(after.captured_queries) == len(before.captured_queries)


def test_it_shows_the_oversight_table_on_the_page(scene, district_admin):
    """The page: the pending queue with its buttons and the table with status, report and
    colours; filters by status; a bad status is dropped with a message."""
    acme, globex, pending = scene
    c = backoffice_client(district_admin)
    page = c.get("/backoffice/enterprises").content.decode()
    assert f'id="approve-{pending.pk}"' in page
    assert f'id="enterprise-{acme.pk}"' in page and f'id="enterprise-{pending.pk}"' in page
    assert f'id="enterprise-{globex.pk}"' not in page
    assert 'id="backoffice-nav"' in page
    row = page.split(f'id="reported-{acme.pk}"')[1].split("</td>")[0]
    assert "已上报" in row
    page = c.get("/backoffice/enterprises?status=approved").content.decode()
    assert f'id="enterprise-{acme.pk}"' in page and f'id="enterprise-{pending.pk}"' not in page
    page = c.get("/backoffice/enterprises?status=closed&day=x").content.decode()
    assert 'id="oversight-problems"' in page and f'id="enterprise-{pending.pk}"' in page
