"""Role × endpoint matrix over every page and API call of the back-office accounts, the
enterprise oversight and the audit log: city admin, district admin (own district 450103 and
another, 450102), industry admin (工信局), reviewer (450103), enterprise manager, resident and
anonymous. Logged-in personas use a session that passed the back-office login
(backoffice_client) and a back-office token (AdminApiClient) — the strongest credentials they
can hold — so that a refusal is the role's, not the login's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from healthcode.backoffice.models import AdminApplication
from healthcode.backoffice.tests.accounts_personas import *  # noqa: F403
from healthcode.backoffice.tests.accounts_personas import PASSWORD, last_code, with_password
from healthcode.enterprises.models import Enterprise
from healthcode.testing import AdminApiClient, ApiClient, backoffice_client, credit_code, make_user

pytestmark = pytest.mark.django_db

PERSONAS = [
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "qingxiu_reviewer",
    "manager",
    "resident",
    "anonymous",
]


@pytest.fixture
def scene(db):
    """A pending 青秀区 reviewer application and a pending 青秀区 manufacturing enterprise."""
    applicant = make_user("13800000120")
    application = AdminApplication.objects.create(
        applicant=applicant,
        organisation="青秀区卫生健康局",
        kind="reviewer",
        district_id="450103",
        reason="审核",
        password_hash="x",
    )
    enterprise = Enterprise.objects.create(
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
    return {"application": application, "enterprise": enterprise}


class Caller:
    """The persona's page client and API clients."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.page = backoffice_client(user) if user is not None else Client()
        self.admin_api = AdminApiClient(user) if user is not None else ApiClient()
        self.api = ApiClient(user) if user is not None else ApiClient()


APPLY = {
    "organisation": "宾阳县卫生健康局",
    "kind": "district_admin",
    "district": "450126",
    "reason": "负责本县",
    "password": PASSWORD,
}


def _login_otp(c: Caller, scene: dict) -> Any:
    phone = c.user.phone if c.user is not None else "13900000999"
    return c.api.post("/admin/auth/otp", {"phone": phone, "password": PASSWORD})


def _login_token(c: Caller, scene: dict) -> Any:
    if c.user is None:
        body = {"phone": "13900000999", "password": PASSWORD, "code": "123456"}
        return c.api.post("/admin/auth/token", body)
    _login_otp(c, scene)
    try:
        code = last_code(c.user.phone)
    except AssertionError:
        code = "123456"  # no SMS: the password step refused it
    body = {"phone": c.user.phone, "password": PASSWORD, "code": code}
    return c.api.post("/admin/auth/token", body)


def _decide_application_page(c: Caller, scene: dict) -> Any:
    pk = scene["application"].pk
    return c.page.post(f"/backoffice/applications/{pk}/decision", {"decision": "approve"})


def _decide_enterprise_page(c: Caller, scene: dict) -> Any:
    pk = scene["enterprise"].pk
    return c.page.post(f"/backoffice/enterprises/{pk}/decision", {"decision": "approve"})


def _apply_page(c: Caller, scene: dict) -> Any:
    return c.page.post("/backoffice/apply", {**APPLY, "password2": PASSWORD})


# status by persona, in PERSONAS order
ENDPOINTS: dict[str, tuple[Callable[[Caller, dict], Any], list[int]]] = {
    "GET /backoffice/login": (
        lambda c, s: c.page.get("/backoffice/login"),
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    "GET /backoffice/": (
        lambda c, s: c.page.get("/backoffice/"),
        [200, 200, 200, 200, 200, 403, 403, 302],
    ),
    "GET /backoffice/apply": (
        lambda c, s: c.page.get("/backoffice/apply"),
        [200, 200, 200, 200, 200, 200, 200, 302],
    ),
    "POST /backoffice/apply": (_apply_page, [302, 302, 302, 302, 302, 302, 302, 302]),
    "GET /backoffice/applications": (
        lambda c, s: c.page.get("/backoffice/applications"),
        [200, 200, 200, 403, 403, 403, 403, 302],
    ),
    "POST /backoffice/applications/{id}/decision": (
        _decide_application_page,
        [302, 302, 404, 403, 403, 403, 403, 302],
    ),
    "GET /backoffice/enterprises": (
        lambda c, s: c.page.get("/backoffice/enterprises"),
        [200, 200, 200, 200, 403, 403, 403, 302],
    ),
    "POST /backoffice/enterprises/{id}/decision": (
        _decide_enterprise_page,
        [302, 302, 404, 302, 403, 403, 403, 302],
    ),
    "GET /backoffice/audit": (
        lambda c, s: c.page.get("/backoffice/audit"),
        [200, 403, 403, 403, 403, 403, 403, 302],
    ),
    "POST /api/v1/admin/auth/otp": (_login_otp, [202, 202, 202, 202, 202, 403, 403, 400]),
    "POST /api/v1/admin/auth/token": (_login_token, [200, 200, 200, 200, 200, 403, 403, 400]),
    "GET /api/v1/admin/me": (
        lambda c, s: c.admin_api.get("/admin/me"),
        [200, 200, 200, 200, 200, 403, 403, 401],
    ),
    "POST /api/v1/admin/applications": (
        lambda c, s: c.api.post("/admin/applications", APPLY),
        [201, 201, 201, 201, 201, 201, 201, 401],
    ),
    "GET /api/v1/admin/applications/mine": (
        lambda c, s: c.api.get("/admin/applications/mine"),
        [200, 200, 200, 200, 200, 200, 200, 401],
    ),
    "GET /api/v1/admin/applications": (
        lambda c, s: c.admin_api.get("/admin/applications"),
        [200, 200, 200, 403, 403, 403, 403, 401],
    ),
    "GET /api/v1/admin/applications/{id}": (
        lambda c, s: c.admin_api.get(f"/admin/applications/{s['application'].pk}"),
        [200, 200, 404, 403, 403, 403, 403, 401],
    ),
    "POST /api/v1/admin/applications/{id}/decision": (
        lambda c, s: c.admin_api.post(
            f"/admin/applications/{s['application'].pk}/decision", {"approve": True}
        ),
        [200, 200, 404, 403, 403, 403, 403, 401],
    ),
    "GET /api/v1/admin/enterprises": (
        lambda c, s: c.admin_api.get("/admin/enterprises"),
        [200, 200, 200, 200, 403, 403, 403, 401],
    ),
    "GET /api/v1/admin/audit": (
        lambda c, s: c.admin_api.get("/admin/audit"),
        [200, 403, 403, 403, 403, 403, 403, 401],
    ),
}

CASES = [
    pytest.param(endpoint, persona, ENDPOINTS[endpoint][1][i], id=f"{endpoint}-{persona}")
    for endpoint in ENDPOINTS
    for i, persona in enumerate(PERSONAS)
]


@pytest.mark.parametrize(("endpoint", "persona", "expected"), CASES)
def test_it_answers_each_persona_as_the_matrix_says(request, scene, endpoint, persona, expected):
    """Every endpoint × persona gives the documented status; anonymous pages go to a login;
    refused decisions change nothing."""
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    if user is not None:
        with_password(user)
    call, _statuses = ENDPOINTS[endpoint]
    response = call(Caller(user), scene)
    assert response.status_code == expected, getattr(response, "content", b"")[:300]
    if persona == "anonymous" and expected == 302:
        assert response["Location"].startswith(("/backoffice/login", "/accounts/login"))
    if "decision" in endpoint and expected not in (200, 302):
        scene["application"].refresh_from_db()
        scene["enterprise"].refresh_from_db()
        assert scene["application"].status == "pending"
        assert scene["enterprise"].status == "pending"
