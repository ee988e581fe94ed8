"""Live status (实时动态监控): the figures of a seeded enterprise, a bounded number of queries
whatever the number of employees, and the dashboard page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from healthcode.checkins.models import CheckIn
from healthcode.checkins.services import record_checkin
from healthcode.codes import services as code_services
from healthcode.enterprises.models import Attendance, Employee, Enterprise
from healthcode.enterprises.reports import draft_report, enterprise_status
from healthcode.testing import ApiClient, declaration, id_number, make_user

# --- Seeding (also used by the other test_reports_* modules) -------------------------------------


def person(phone: str, name: str, seq: int, **facts: Any):
    """An account with its own health code declared with `facts` (green by default)."""
    user = make_user(phone)
    code = code_services.declare(
        account=user,
        data=declaration(name=name, id_number=id_number(seq=seq), phone=phone, **facts),
    )
    return user, code


def yellow_facts() -> dict[str, Any]:
    arrived = timezone.localdate() - timedelta(days=2)
    return {
        "returned_from_elsewhere": True,
        "return_region": "440300",
        "arrival_date": arrived.isoformat(),
    }


def red_facts() -> dict[str, Any]:
    arrived = timezone.localdate() - timedelta(days=2)
    return {
        "returned_from_elsewhere": True,
        "return_region": "420000",
        "arrival_date": arrived.isoformat(),
    }


def hire(enterprise: Enterprise, name: str, phone: str, code=None, **extra: Any) -> Employee:
    return Employee.objects.create(
        enterprise=enterprise, name=name, phone=phone, code=code, **extra
    )


def check_in(user, code, temperature: str, symptoms: list[str] | None = None) -> CheckIn:
    return record_checkin(
        code=code,
        actor=user,
        data={
            "temperature": temperature,
            "symptoms": symptoms or [],
            "in_nanning": True,
            "new_contact": False,
        },
    )


def attend(
    enterprise: Enterprise, code, temperature: str, symptoms: list[str] | None = None, **kw: Any
) -> Attendance:
    """An attendance row as the scanning part's service writes it (without its check-in)."""
    now = timezone.now()
    return Attendance.objects.create(
        enterprise=enterprise,
        employee=Employee.objects.filter(enterprise=enterprise, code=code, active=True).first(),
        code=code,
        at=now,
        day=timezone.localdate(now),
        color=code.color,
        verdict="may_work" if code.color == "green" else "may_not_work",
        temperature=Decimal(temperature),
        symptoms=symptoms or [],
        **kw,
    )


@dataclass
class Seeded:
    enterprise: Enterprise
    fever_code: Any  # checked in with 37.8 °C today
    boundary_code: Any  # red, checked in at exactly 37.3 °C


def seed_acme(acme: Enterprise, globex: Enterprise, scanner, employee) -> Seeded:
    """acme: 8 active employees (scanner and employee from the personas, both green; g1 green;
    g2 green then fever → yellow; y yellow (Shenzhen); r red (Hubei); two invitations), one
    former employee; check-ins, attendance and readings as the expectations below describe."""
    g1_user, g1 = person("13900000201", "钱一鸣", 201)
    g2_user, g2 = person("13900000202", "孙二娘", 202)
    y_user, y = person("13900000203", "赵三立", 203, **yellow_facts())
    r_user, r = person("13900000204", "周四海", 204, **red_facts())
    _, gone = person("13900000205", "吴五常", 205)
    hire(acme, "钱一鸣", "13900000201", g1, returned_to_work=True)
    hire(acme, "孙二娘", "13900000202", g2)
    hire(acme, "赵三立", "13900000203", y, returned_to_work=True)
    hire(acme, "周四海", "13900000204", r)
    hire(acme, "郑六六", "13900000206", None, returned_to_work=True)  # invitation
    hire(acme, "冯七七", "13900000207", None)  # invitation
    hire(acme, "吴五常", "13900000205", gone, active=False, removed_at=timezone.now())
    # Today's check-ins: g1 normal, g2 fever (turns yellow), y 37.2 (below the threshold),
    # r at exactly 37.3 (the threshold: abnormal).
    check_in(g1_user, g1, "36.5")
    check_in(g2_user, g2, "37.8")
    check_in(y_user, y, "37.2")
    check_in(r_user, r, "37.3")
    # A former employee's fever does not count.
    check_in(gone.account, gone, "38.5")
    # Yesterday's fever of the scanner does not count today.
    scanner_code = scanner.health_codes.get()
    CheckIn.objects.create(
        code=scanner_code,
        day=timezone.localdate() - timedelta(days=1),
        temperature=Decimal("38.9"),
        symptoms=[],
        in_nanning=True,
        new_contact=False,
        source="self",
    )
    # Attendance today at acme: the scanner with a cough (abnormal), the employee normal.
    attend(acme, scanner_code, "36.6", ["cough"])
    attend(acme, employee.health_codes.get(), "36.4")
    attend(acme, employee.health_codes.get(), "36.5")  # scanned twice: still one person
    # g1 scanned with a fever at another enterprise: neither on site nor abnormal at acme.
    attend(globex, g1, "38.0")
    g2.refresh_from_db()
    r.refresh_from_db()
    return Seeded(acme, g2, r)


EXPECTED = {
    "employees": 8,
    "colors": {"green": 3, "yellow": 2, "red": 1, "unlinked": 2},
    "linked": 6,
    "returned_to_work": 3,
    "checkin": {"done": 4, "total": 6, "percent": 66.7},
    "scan": {"done": 2, "total": 6, "percent": 33.3},
    "abnormal_count": 3,
    "key_count": 3,
}


@pytest.fixture
def seeded(acme, globex, scanner, employee) -> Seeded:
    return seed_acme(acme, globex, scanner, employee)


# --- The figures ---------------------------------------------------------------------------------


def test_it_counts_a_seeded_enterprise(seeded):
    """The status counts active employees by colour (invitations apart), returned-to-work,
    check-in and scan completion among linked employees, abnormal health (check-ins of the
    day at or above the rule set's threshold, or attendance here with symptoms) and key
    monitored persons (yellow/red)."""
    status = enterprise_status(enterprise=seeded.enterprise)
    assert status["employees"] == EXPECTED["employees"]
    assert status["colors"] == EXPECTED["colors"]
    assert status["linked"] == EXPECTED["linked"]
    assert status["returned_to_work"] == EXPECTED["returned_to_work"]
    assert status["checkin"] == EXPECTED["checkin"]
    assert status["scan"] == EXPECTED["scan"]
    assert status["abnormal"]["count"] == EXPECTED["abnormal_count"]
    assert status["key_monitored"]["count"] == EXPECTED["key_count"]
    assert status["day"] == timezone.localdate()


def test_it_lists_abnormal_health_with_masked_names(seeded):
    """Each abnormal employee appears once, masked, with the highest temperature of the day
    and the symptoms; a reading elsewhere, yesterday's, or a former employee's is not
    listed."""
    items = {
        i["name"]: i for i in enterprise_status(enterprise=seeded.enterprise)["abnormal"]["items"]
    }
    assert set(items) == {"孙*娘", "周*海", "张*码"}
    assert items["孙*娘"]["temperature"] == 37.8
    assert items["孙*娘"]["sources"] == ["checkin"]
    assert items["周*海"]["temperature"] == 37.3
    assert items["张*码"]["symptoms"] == ["咳嗽"]
    assert items["张*码"]["sources"] == ["attendance"]
    assert all("钱" not in name and "吴" not in name for name in items)


def test_it_lists_key_monitored_persons_with_colour_and_first_reason(seeded):
    """Key monitored persons: yellow and red codes, each with its colour and its first reason
    in the request's language."""
    items = {
        i["name"]: i
        for i in enterprise_status(enterprise=seeded.enterprise)["key_monitored"]["items"]
    }
    assert set(items) == {"孙*娘", "赵*立", "周*海"}
    assert items["周*海"]["color"] == "red"
    assert "湖北" in items["周*海"]["reason"]
    assert items["孙*娘"]["color"] == "yellow"
    assert "健康打卡" in items["孙*娘"]["reason"]
    assert items["赵*立"]["observation_until"] is not None


def test_it_gives_reasons_in_english_through_the_api(seeded, manager):
    """The API answers in the request's language: reasons and colour names in English."""
    response = ApiClient(manager, language="en").get(f"/enterprises/{seeded.enterprise.pk}/status")
    assert response.status_code == 200
    red = [i for i in response.json()["key_monitored"]["items"] if i["color"] == "red"]
    assert "Hubei" in red[0]["reason"]
    assert red[0]["color_label"] != "红码"


def test_it_answers_the_status_through_the_api(seeded, manager):
    """GET /enterprises/{id}/status gives the same figures as the service."""
    response = ApiClient(manager).get(f"/enterprises/{seeded.enterprise.pk}/status")
    assert response.status_code == 200
    body = response.json()
    assert body["enterprise"] == {"id": seeded.enterprise.pk, "name": seeded.enterprise.name}
    assert body["colors"] == EXPECTED["colors"]
    assert body["checkin"] == EXPECTED["checkin"]
    assert body["abnormal"]["count"] == EXPECTED["abnormal_count"]
    assert "generated_at" in body


def test_it_counts_an_empty_enterprise_without_dividing_by_zero(acme, manager):
    """With no employees, completions are 0 of 0 with no percentage."""
    status = enterprise_status(enterprise=acme)
    assert status["employees"] == 0
    assert status["checkin"] == {"done": 0, "total": 0, "percent": None}
    assert status["abnormal"] == {"count": 0, "items": []}


# --- Bounded queries -----------------------------------------------------------------------------


def _staff(enterprise: Enterprise, count: int, seq0: int) -> None:
    """`count` linked employees of every colour with check-ins and attendance."""
    for i in range(count):
        phone = f"139{seq0 + i:08d}"
        facts = [{}, yellow_facts(), red_facts()][i % 3]
        user, code = person(phone, f"员工{chr(0x4E00 + i)}名", seq0 + i, **facts)
        hire(enterprise, f"员工{chr(0x4E00 + i)}名", phone, code, returned_to_work=bool(i % 2))
        if i % 2:
            check_in(user, code, "37.5" if i % 4 == 1 else "36.5")
        if i % 3 == 0:
            attend(enterprise, code, "36.6", ["cough"] if i % 6 == 0 else [])
    for i in range(count // 5):
        hire(enterprise, f"邀请{chr(0x4E00 + i)}人", f"137{seq0 + i:08d}")


STATUS_QUERIES = 4
DRAFT_QUERIES = 3


@pytest.mark.parametrize("size", [5, 50])
def test_it_reads_the_status_in_a_fixed_number_of_queries(
    acme, size, django_assert_max_num_queries
):
    """The status and the draft cost the same handful of queries for 5 or 50 employees (no
    query per employee)."""
    _staff(acme, size, 300)
    with django_assert_max_num_queries(STATUS_QUERIES):
        status = enterprise_status(enterprise=acme)
    assert status["linked"] == size
    assert status["employees"] == size + size // 5
    assert status["abnormal"]["count"] > 0
    assert status["key_monitored"]["count"] > 0
    with django_assert_max_num_queries(DRAFT_QUERIES):
        figures = draft_report(enterprise=acme, day=timezone.localdate())
    assert figures["employees"] == size + size // 5


@pytest.mark.parametrize("size", [5, 50])
def test_it_answers_the_status_api_in_a_fixed_number_of_queries(
    acme, manager, size, django_assert_max_num_queries
):
    """Through the API too (token, enterprise, status): the same bound for 5 or 50."""
    _staff(acme, size, 400)
    client = ApiClient(manager)
    with django_assert_max_num_queries(STATUS_QUERIES + 4):
        response = client.get(f"/enterprises/{acme.pk}/status")
    assert response.status_code == 200
    assert response.json()["linked"] == size


# --- The page ------------------------------------------------------------------------------------


DASHBOARD_IDS = [
    "count-employees",
    "count-green",
    "count-yellow",
    "count-red",
    "checkin-completion",
    "scan-completion",
    "abnormal-list",
    "key-list",
    "updated-at",
]


def test_it_shows_the_dashboard_to_a_manager(seeded, manager):
    """The dashboard shows the figures in their cards, the list entries masked, and loads
    dashboard.js with the status URL in a data attribute (no inline script)."""
    client = Client()
    client.force_login(manager)
    response = client.get(f"/enterprises/{seeded.enterprise.pk}/dashboard")
    assert response.status_code == 200
    html = response.content.decode()
    for element_id in DASHBOARD_IDS:
        assert f'id="{element_id}"' in html
    assert f'data-status-url="/api/v1/enterprises/{seeded.enterprise.pk}/status"' in html
    assert 'data-refresh-seconds="30"' in html
    assert "enterprises/dashboard.js" in html
    assert '<td id="count-employees">8</td>' in html
    assert '<td id="count-yellow">2</td>' in html
    assert '<td id="checkin-completion">4 / 6 (66.7%)</td>' in html
    assert "孙*娘" in html and "孙二娘" not in html
    scripts = html.split("<script")[1:]
    assert all(chunk.lstrip().startswith("src=") for chunk in scripts)


def test_it_shows_the_dashboard_to_a_co_manager(seeded, co_manager):
    """Co-managers see the dashboard too."""
    client = Client()
    client.force_login(co_manager)
    assert client.get(f"/enterprises/{seeded.enterprise.pk}/dashboard").status_code == 200


def test_it_hides_another_enterprise_dashboard(acme, other_manager, globex):
    """Another enterprise's manager gets 404 for acme's dashboard and status."""
    client = Client()
    client.force_login(other_manager)
    assert client.get(f"/enterprises/{acme.pk}/dashboard").status_code == 404
    assert ApiClient(other_manager).get(f"/enterprises/{acme.pk}/status").status_code == 404
