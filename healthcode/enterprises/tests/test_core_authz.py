"""Authorisation of every endpoint of the enterprise core, for every persona (conftest.py):
the enterprise's managers (owner and co-manager), its scanner and plain employee, another
enterprise's manager, the admins (district, industry, city), a resident and anonymous.

Rules: anonymous → 401; an enterprise the caller neither manages nor oversees → 404;
reads of an enterprise and its staff list → its managers and admins in scope; writes on
employees → its managers; co-managers → the owner (a co-manager 403); the pending queue
→ admins (any other account 403 not_an_admin); decisions → admins in scope (anyone
else 404)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from healthcode.enterprises import services
from healthcode.enterprises.models import Employee
from healthcode.enterprises.tests.conftest import NAMES
from healthcode.testing import ApiClient, credit_code

pytestmark = pytest.mark.django_db

PERSONAS = [
    "manager",
    "co_manager",
    "scanner",
    "employee",
    "other_manager",
    "district_admin",
    "industry_admin",
    "city_admin",
    "resident",
    "anonymous",
]
MANAGERS = {"manager", "co_manager"}
ADMINS = {"district_admin", "industry_admin", "city_admin"}


def expect(ok: int, allowed: set[str], *, others: int = 404, special: dict | None = None) -> dict:
    table = {p: ok if p in allowed else others for p in PERSONAS}
    table["anonymous"] = 401
    table.update(special or {})
    return table


def root() -> str:
    return reverse("api:enterprises_root").removeprefix("/api/v1")


@pytest.fixture
def world(request, acme, globex):
    """Every persona, acme (approved) with a co-manager, a scanner and an employee, and a
    pending enterprise in acme's district and industry."""
    users = {p: request.getfixturevalue(p) for p in PERSONAS if p != "anonymous"}
    pending = services.register_enterprise(
        actor=users["resident"],
        data={
            "name": "南宁待审企业有限公司",
            "credit_code": credit_code(90),
            "district": "450103",
            "industry": "C",
            "address": "南宁市青秀区某路 9 号",
            "contact_name": "孙居民",
        },
    )
    return {"users": users, "acme": acme, "pending": pending}


def call(world: dict, persona: str, method: str, path: str, body: object = None):
    api = ApiClient(world["users"].get(persona))
    data = json.dumps(body) if body is not None else ""
    return api.client.generic(
        method, f"/api/v1{path}", data=data, content_type="application/json", **api.headers
    )


def employee_id() -> int:
    return Employee.objects.get(phone=NAMES["employee"][0]).pk


# (name, method, path(world) -> str, body, expected statuses by persona)
ENDPOINTS = [
    ("my enterprises", "GET", lambda w: root(), None, expect(200, set(PERSONAS))),
    ("register", "POST", lambda w: root(), "register", expect(201, set(PERSONAS))),
    (
        "pending queue",
        "GET",
        lambda w: "/enterprises/pending",
        None,
        expect(200, ADMINS, others=403),
    ),
    (
        "enterprise",
        "GET",
        lambda w: f"/enterprises/{w['acme'].pk}",
        None,
        expect(200, MANAGERS | ADMINS),
    ),
    (
        "decision",
        "POST",
        lambda w: f"/enterprises/{w['pending'].pk}/decision",
        {"approve": True},
        # the registrant of the pending one is `resident`: registering gives no say in approval
        expect(200, ADMINS),
    ),
    (
        "add co-manager",
        "POST",
        lambda w: f"/enterprises/{w['acme'].pk}/managers",
        {"phone": NAMES["resident"][0]},
        expect(201, {"manager"}, special={"co_manager": 403}),
    ),
    (
        "remove co-manager",
        "DELETE",
        lambda w: f"/enterprises/{w['acme'].pk}/managers",
        {"phone": NAMES["co_manager"][0]},
        expect(204, {"manager"}, special={"co_manager": 403}),
    ),
    (
        "staff list",
        "GET",
        lambda w: f"/enterprises/{w['acme'].pk}/employees",
        None,
        expect(200, MANAGERS | ADMINS),
    ),
    (
        "add employee",
        "POST",
        lambda w: f"/enterprises/{w['acme'].pk}/employees",
        {"name": "赵新人", "phone": "13900000001"},
        expect(201, MANAGERS),
    ),
    (
        "update employee",
        "PATCH",
        lambda w: f"/enterprises/{w['acme'].pk}/employees/{employee_id()}",
        {"department_name": "质检部"},
        expect(200, MANAGERS),
    ),
    (
        "deactivate employee",
        "POST",
        lambda w: f"/enterprises/{w['acme'].pk}/employees/{employee_id()}/deactivate",
        {},
        expect(200, MANAGERS),
    ),
    (
        "scan permission",
        "POST",
        lambda w: f"/enterprises/{w['acme'].pk}/employees/{employee_id()}/scan-permission",
        {"allowed": True},
        expect(200, MANAGERS),
    ),
]

CASES = [
    pytest.param(name, method, path, body, persona, table[persona], id=f"{name}-{persona}")
    for name, method, path, body, table in ENDPOINTS
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "method", "path", "body", "persona", "status"), CASES)
def test_it_authorises_every_core_endpoint_for_every_persona(
    world, name, method, path, body, persona, status
):
    """Each endpoint answers each persona as the rules above say; refusals change nothing."""
    if body == "register":
        body = {
            "name": f"{persona} 的新公司",
            "credit_code": credit_code(100 + PERSONAS.index(persona)),
            "district": "450102",
            "industry": "G",
            "address": "南宁市兴宁区某路 2 号",
            "contact_name": "某人",
        }
    before = Employee.objects.filter(active=True).count()
    r = call(world, persona, method, path(world), body)
    assert r.status_code == status, (name, persona, r.content[:300])
    if status >= 400:
        assert Employee.objects.filter(active=True).count() == before
        world["pending"].refresh_from_db()
        assert world["pending"].status == "pending"


def test_it_answers_404_for_an_unknown_enterprise_to_everyone(world):
    """A non-existent enterprise id is a 404 even for a city admin."""
    assert call(world, "city_admin", "GET", "/enterprises/999999").status_code == 404
    assert call(world, "manager", "GET", "/enterprises/999999/employees").status_code == 404
