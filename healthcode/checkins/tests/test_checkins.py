"""Daily check-ins through the API: recording, amending, colour changes, bad input."""

from __future__ import annotations

import pytest

from healthcode.audit.models import AuditRecord
from healthcode.checkins.models import CheckIn, CheckInRevision
from healthcode.codes.models import HealthCode
from healthcode.testing import ApiClient, declaration, make_user

pytestmark = pytest.mark.django_db

HEALTHY = {"temperature": 36.6, "symptoms": [], "in_nanning": True, "new_contact": False}


@pytest.fixture
def alice():
    return make_user("13800000001")


@pytest.fixture
def code_id(alice):
    return ApiClient(alice).post("/codes", declaration()).json()["id"]


def test_it_records_a_healthy_checkin_and_keeps_green(alice, code_id):
    r = ApiClient(alice).post(f"/codes/{code_id}/checkins", HEALTHY)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["checkin"]["temperature"] == 36.6
    assert body["checkin"]["source"] == "self"
    assert body["code"]["color"] == "green"
    assert AuditRecord.objects.filter(action="checkin").count() == 1


def test_it_turns_the_code_yellow_on_fever_with_the_reason(alice, code_id):
    """Fever (≥ 37.3 °C) in a check-in turns a green code yellow and says why."""
    r = ApiClient(alice).post(f"/codes/{code_id}/checkins", {**HEALTHY, "temperature": 38.1})
    code = r.json()["code"]
    assert code["color"] == "yellow"
    assert any("38.1" in reason["text"] for reason in code["reasons"])
    assert code["path_to_green"]


def test_it_turns_the_code_yellow_on_symptoms(alice, code_id):
    r = ApiClient(alice).post(f"/codes/{code_id}/checkins", {**HEALTHY, "symptoms": ["cough"]})
    assert r.json()["code"]["color"] == "yellow"


def test_it_turns_the_code_red_on_a_new_contact(alice, code_id):
    r = ApiClient(alice).post(f"/codes/{code_id}/checkins", {**HEALTHY, "new_contact": True})
    assert r.json()["code"]["color"] == "red"


def test_it_amends_the_same_days_checkin_and_keeps_history(alice, code_id):
    """A second check-in the same day amends the first; the earlier values are kept."""
    api = ApiClient(alice)
    api.post(f"/codes/{code_id}/checkins", {**HEALTHY, "temperature": 38.0})
    r = api.post(f"/codes/{code_id}/checkins", HEALTHY)
    assert r.json()["checkin"]["revision"] == 2
    assert CheckIn.objects.count() == 1
    old = CheckInRevision.objects.get()
    assert (old.revision, float(old.temperature)) == (1, 38.0)
    assert len(api.get(f"/codes/{code_id}/checkins").json()) == 1


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("temperature", {**HEALTHY, "temperature": 43.5}),
        ("temperature", {**HEALTHY, "temperature": 33.0}),
        ("symptoms", {**HEALTHY, "symptoms": ["sneezing-unicorn"]}),
        ("in_nanning", {k: v for k, v in HEALTHY.items() if k != "in_nanning"}),
    ],
)
def test_it_refuses_bad_checkins_and_saves_nothing(alice, code_id, field, body):
    before = HealthCode.objects.get().color
    r = ApiClient(alice).post(f"/codes/{code_id}/checkins", body)
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"]
    assert CheckIn.objects.count() == 0
    assert HealthCode.objects.get().color == before
