"""The managers' view of health attendance: GET /api/v1/enterprises/{id}/attendance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from healthcode.codes import keys
from healthcode.enterprises.attendance import record_attendance
from healthcode.enterprises.models import Attendance
from healthcode.testing import ApiClient

pytestmark = pytest.mark.django_db


def scan(scanner, person, enterprise, temperature="36.5", symptoms=(), now=None):
    payload = keys.issue_token(person.health_codes.get(), now=now)[0]
    return record_attendance(
        scanner=scanner,
        enterprise_id=enterprise.pk,
        payload=payload,
        temperature=temperature,
        symptoms=list(symptoms),
        now=now,
    )


@pytest.fixture
def day_of_scans(scanner, employee, manager, acme):
    """Today at acme: the employee scanned normal, the manager scanned with fever."""
    scan(scanner, employee, acme, "36.5")
    scan(scanner, manager, acme, "38.0", ["fever"])


def test_it_lists_the_days_attendance_for_a_manager(manager, day_of_scans, acme):
    """Masked names, temperatures, verdicts, newest first, with the day's counts."""
    r = ApiClient(manager).get(f"/enterprises/{acme.pk}/attendance")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["enterprise"], body["day"]) == (acme.pk, timezone.localdate().isoformat())
    assert (body["count"], body["abnormal_temperature"], body["may_not_work"]) == (2, 1, 1)
    first, second = body["records"]
    assert (first["name"], first["temperature"], first["verdict"]) == (
        "王*理",
        38.0,
        "may_not_work",
    )
    assert first["abnormal_temperature"] is True
    assert first["verdict_text"] == "暂不可返岗"
    assert (second["name"], second["temperature"], second["verdict"]) == ("刘*工", 36.5, "may_work")
    assert second["employee_here"] is True
    assert second["scanner"] == "138****0103"
    text = r.content.decode()
    assert "13800000104" not in text and "刘员工" not in text


@pytest.mark.parametrize("persona", ["manager", "co_manager"])
def test_it_answers_managers_and_co_managers(request, persona, day_of_scans, acme):
    """Both kinds of manager see the enterprise's attendance."""
    user = request.getfixturevalue(persona)
    r = ApiClient(user).get(f"/enterprises/{acme.pk}/attendance")
    assert r.status_code == 200
    assert r.json()["count"] == 2


@pytest.mark.parametrize(
    "persona",
    ["scanner", "employee", "other_manager", "resident", "district_admin", "industry_admin"],
)
def test_it_answers_404_to_everyone_else(request, persona, day_of_scans, acme, globex):
    """Not a manager of acme: acme's attendance does not exist for the account (404)."""
    user = request.getfixturevalue(persona)
    r = ApiClient(user).get(f"/enterprises/{acme.pk}/attendance")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_it_answers_401_to_anonymous_callers(acme):
    """The listing needs an account."""
    assert ApiClient().get(f"/enterprises/{acme.pk}/attendance").status_code == 401


def test_it_keeps_one_managers_enterprise_from_another(other_manager, globex, day_of_scans, acme):
    """globex's manager sees globex's (empty) day and 404 for acme."""
    client = ApiClient(other_manager)
    assert client.get(f"/enterprises/{globex.pk}/attendance").json()["count"] == 0
    assert client.get(f"/enterprises/{acme.pk}/attendance").status_code == 404


def test_it_answers_404_for_unknown_ids(manager, acme):
    """Unknown, malformed or absurd ids are not found."""
    client = ApiClient(manager)
    for bad in ["999999", "abc", str(2**70)]:
        assert client.get(f"/enterprises/{bad}/attendance").status_code == 404, bad


def test_it_lists_the_day_asked_for(manager, scanner, employee, acme):
    """?day=YYYY-MM-DD selects the day; another day's records are not in it."""
    yesterday = timezone.now() - timedelta(days=1)
    scan(scanner, employee, acme, "36.9", now=yesterday)
    scan(scanner, employee, acme, "36.4")
    client = ApiClient(manager)
    day = timezone.localdate(yesterday).isoformat()
    body = client.get(f"/enterprises/{acme.pk}/attendance?day={day}").json()
    assert body["day"] == day
    assert [r["temperature"] for r in body["records"]] == [36.9]
    assert client.get(f"/enterprises/{acme.pk}/attendance").json()["count"] == 1
    assert Attendance.objects.count() == 2


def test_it_refuses_a_malformed_day(manager, acme):
    """A day that is not YYYY-MM-DD: 400 naming day."""
    r = ApiClient(manager).get(f"/enterprises/{acme.pk}/attendance?day=2020-13-40")
    assert r.status_code == 400
    assert "day" in r.json()["errors"]


def test_it_pages_with_limit_and_offset(manager, day_of_scans, acme):
    """limit/offset page the records; count stays the day's total; limits are bounded."""
    client = ApiClient(manager)
    body = client.get(f"/enterprises/{acme.pk}/attendance?limit=1&offset=1").json()
    assert body["count"] == 2
    assert [r["name"] for r in body["records"]] == ["刘*工"]
    assert client.get(f"/enterprises/{acme.pk}/attendance?limit=0").status_code == 400
    assert client.get(f"/enterprises/{acme.pk}/attendance?limit=100000").status_code == 400
