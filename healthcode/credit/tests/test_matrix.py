"""Role × endpoint matrix of the credit endpoints and page: city admin, district admin (own
district and another), industry admin, reviewer, enterprise manager, resident, anonymous.
Subjects: a 青秀区 resident's code, a record flagged on it by another reviewer (`flagged`), and
a failed outbox message of a final record."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from healthcode.credit.models import CreditOutboxMessage
from healthcode.credit.tests.conftest import final_record
from healthcode.testing import AdminApiClient, ApiClient, backoffice_client

pytestmark = pytest.mark.django_db

PERSONAS = [
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "reviewer",
    "manager",
    "resident",
    "anonymous",
]


def expect(
    ok: int,
    *,
    other: int,
    city: int | None = None,
    district: int | None = None,
    reviewer: int | None = None,
) -> dict[str, int]:
    return {
        "city_admin": city or ok,
        "district_admin": district or ok,
        "reviewer": reviewer or ok,
        "other_district_admin": other,
        "industry_admin": 403,
        "manager": 403,
        "resident": 403,
        "anonymous": 401,
    }


API = {
    "list": ("get", "/admin/credit/records", None, expect(200, other=200)),
    "flag": (
        "post",
        "/admin/credit/records",
        {"code": "{code}", "what": "隐瞒旅居史", "fields": ["arrival_date"], "evidence": "票据"},
        expect(201, other=404),
    ),
    "confirm": (
        "post",
        "/admin/credit/records/{record}/confirm",
        {"approve": True},
        expect(200, other=404),
    ),
    "withdraw": (
        "post",
        "/admin/credit/records/{record}/withdraw",
        {"reason": "证据有误。"},
        expect(200, other=404),
    ),
    "outbox": ("get", "/admin/credit/outbox?status=failed", None, expect(200, other=200)),
    "retry": (
        "post",
        "/admin/credit/outbox/{message}/retry",
        {},
        expect(200, other=404, district=403, reviewer=403),
    ),
}


def _persona(name: str, request: Any):
    return None if name == "anonymous" else request.getfixturevalue(name)


@pytest.fixture
def subjects(flagged, flagger, reviewer, subject_code) -> dict[str, str]:
    failed = final_record(subject_code, flagger, reviewer)
    message = failed.messages.get()
    CreditOutboxMessage.objects.filter(pk=message.pk).update(status="failed", attempts=8)
    return {
        "code": str(subject_code.public_id),
        "record": str(flagged.public_id),
        "message": str(message.pk),
    }


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", list(API))
def test_it_answers_each_role_as_the_matrix_says(request, subjects, persona, endpoint):
    """Every admin credit endpoint, for every persona: the status of the matrix."""
    method, path, body, table = API[endpoint]
    user = _persona(persona, request)
    client = AdminApiClient(user)
    url = path.format(**subjects)
    if body is not None:
        body = {k: v.format(**subjects) if isinstance(v, str) else v for k, v in body.items()}
    response = client.get(url) if method == "get" else client.post(url, body)
    assert response.status_code == table[persona], (persona, endpoint, response.content)


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_shows_residents_records_to_every_account(request, subjects, persona):
    """`GET /me/credit-records` answers every logged-in account (its own records), 401 for
    anonymous callers."""
    user = _persona(persona, request)
    response = ApiClient(user).get("/me/credit-records")
    assert response.status_code == (401 if user is None else 200)
    if user is not None:
        assert response.json() == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_serves_the_admin_page_to_reviewing_roles(request, subjects, persona):
    """`/credit/admin`: reviewers, district and city admins 200 (another district sees no
    record), other admins and accounts without a role 403, visitors the back-office login."""
    user = _persona(persona, request)
    client = Client() if user is None else backoffice_client(user)
    response = client.get("/credit/admin")
    expected = {"anonymous": 302, "industry_admin": 403, "manager": 403, "resident": 403}
    assert response.status_code == expected.get(persona, 200)
    if response.status_code == 200:
        html = response.content.decode()
        in_scope = persona != "other_district_admin"
        assert (f'id="record-{subjects["record"]}"' in html) is in_scope
        assert ('id="failed-deliveries"' in html) is in_scope
