"""Role × endpoint matrix of reviews and manual colours, for every API call and page: city
admin, district admin (own district and another), industry admin, reviewer, enterprise
manager, resident and anonymous. Subjects: a red code and a green code of 青秀区 (450103) and
a manual red requested for the red code by another reviewer."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from healthcode.backoffice.tests.reviews_personas import *  # noqa: F403
from healthcode.backoffice.tests.reviews_personas import PERSONAS
from healthcode.codes.models import HealthCode, ManualColorRequest, Review
from healthcode.testing import AdminApiClient, ApiClient, backoffice_client

pytestmark = pytest.mark.django_db

REVIEWERS = {"city_admin": 1, "district_admin": 1, "reviewer": 1}


def expect(ok: int, *, other: int, industry: int = 403) -> dict[str, int]:
    """Status per persona: `ok` for the reviewers of 青秀区, `other` for 兴宁区's admin,
    403 for industry admins (unless said), residents and managers, 401 for anonymous."""
    table = {name: ok for name in REVIEWERS}
    table.update(
        other_district_admin=other,
        industry_admin=industry,
        manager=403,
        resident=403,
        anonymous=401,
    )
    return table


# (method, path template, body, expected status per persona)
API = {
    "queue": ("get", "/admin/reviews", None, expect(200, other=200)),
    "detail": ("get", "/admin/reviews/{code}", None, expect(200, other=404)),
    "review": (
        "post",
        "/admin/reviews/{code}",
        {"outcome": "approve", "note": ""},
        expect(200, other=404),
    ),
    "bulk": (
        "post",
        "/admin/reviews/bulk",
        {"codes": ["{code}"], "outcome": "approve", "note": ""},
        expect(200, other=404),
    ),
    "manual_color": (
        "post",
        "/admin/codes/{green}/manual-color",
        {"color": "red", "reason_code": "epi_close_contact", "note": ""},
        expect(201, other=404),
    ),
    "pending": ("get", "/admin/manual-color-requests", None, expect(200, other=200)),
    "confirm": (
        "post",
        "/admin/manual-color-requests/{request}",
        {"approve": True, "note": ""},
        expect(200, other=404),
    ),
    "withdraw": (
        "post",
        "/admin/manual-color-requests/{request}/withdraw",
        {},
        expect(403, other=404),  # only the requester may
    ),
    "reasons": ("get", "/admin/manual-reasons", None, expect(200, other=200, industry=200)),
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture
def subjects(red_code, green_code, pending_request) -> dict[str, str]:
    return {
        "code": str(red_code.public_id),
        "green": str(green_code.public_id),
        "request": str(pending_request.pk),
    }


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", list(API))
def test_it_answers_each_api_call_by_role_and_scope(request, subjects, persona, endpoint):
    """Every API call answers each persona as the table says, and changes nothing unless
    it succeeds."""
    method, path, body, table = API[endpoint]
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    client = AdminApiClient(user) if user is not None else ApiClient()
    url = _fill(path, subjects)
    response = client.get(url) if method == "get" else client.post(url, _fill(body, subjects))
    assert response.status_code == table[persona], (endpoint, persona, response.content)
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "detail"}
    if method == "post" and response.status_code >= 400:
        assert not Review.objects.exists()
        assert ManualColorRequest.objects.filter(status="pending").count() == 1
        assert HealthCode.objects.get(public_id=subjects["code"]).color == "red"
    if endpoint == "queue" and response.status_code == 200:
        ids = [item["id"] for item in response.json()["results"]]
        assert (subjects["code"] in ids) == (persona in REVIEWERS)
    if endpoint == "pending" and response.status_code == 200:
        ids = [str(item["id"]) for item in response.json()]
        assert (subjects["request"] in ids) == (persona in REVIEWERS)


# (method, path template, form data, expected status per persona). Pages refuse a role with
# 403 and send visitors to the back-office login (302); a write that the service refuses is
# shown as a message after a redirect (302), as the enterprise pages do.
PAGES = {
    "queue": ("get", "/backoffice/reviews", None, expect(200, other=200)),
    "bulk": (
        "post",
        "/backoffice/reviews/bulk",
        {"codes": ["{code}"], "outcome": "approve"},
        expect(302, other=302),
    ),
    "detail": ("get", "/backoffice/reviews/{code}", None, expect(200, other=404)),
    "decide": (
        "post",
        "/backoffice/reviews/{code}/decision",
        {"outcome": "approve"},
        expect(302, other=404),
    ),
    "manual_color": (
        "post",
        "/backoffice/reviews/{green}/manual-color",
        {"color": "red", "reason_code": "epi_close_contact"},
        expect(302, other=404),
    ),
    "manual_requests": ("get", "/backoffice/manual-requests", None, expect(200, other=200)),
    "manual_decide": (
        "post",
        "/backoffice/manual-requests/{request}",
        {"decision": "approve"},
        expect(302, other=404),
    ),
    "manual_withdraw": (
        "post",
        "/backoffice/manual-requests/{request}/withdraw",
        {},
        expect(302, other=404),
    ),
}
for table in (page[3] for page in PAGES.values()):
    table["anonymous"] = 302


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", list(PAGES))
def test_it_answers_each_page_by_role_and_scope(request, subjects, persona, page):
    """Every page answers each persona as the table says; visitors go to the back-office
    login; a write succeeds only for a reviewer with the code in scope."""
    method, path, data, table = PAGES[page]
    if persona == "anonymous":
        client = Client()
    else:
        client = backoffice_client(request.getfixturevalue(persona))
    url = _fill(path, subjects)
    response = client.get(url) if method == "get" else client.post(url, _fill(data, subjects))
    assert response.status_code == table[persona], (page, persona)
    if persona == "anonymous":
        assert "/backoffice/login" in response["Location"]
    allowed = persona in REVIEWERS
    red = HealthCode.objects.get(public_id=subjects["code"])
    if page in ("bulk", "decide"):
        assert (red.color == "green") == allowed
        assert Review.objects.exists() == allowed
    elif page == "manual_color":
        made = ManualColorRequest.objects.filter(code__public_id=subjects["green"]).exists()
        assert made == allowed
    elif page == "manual_decide":
        status = ManualColorRequest.objects.get(pk=subjects["request"]).status
        assert status == ("approved" if allowed else "pending")
    elif page == "manual_withdraw":  # only the requester may
        assert ManualColorRequest.objects.get(pk=subjects["request"]).status == "pending"
    elif page == "queue" and response.status_code == 200:
        assert (f'value="{subjects["code"]}"' in response.content.decode()) == allowed
    elif page == "manual_requests" and response.status_code == 200:
        assert (f'id="confirm-{subjects["request"]}"' in response.content.decode()) == allowed


def test_it_sends_a_session_without_the_second_factor_to_the_login(reviewer, subjects):
    """A session that did not pass the back-office login (password and second factor) is
    sent to it, for pages; the API refuses it (401)."""
    client = Client()
    client.force_login(reviewer)
    response = client.get("/backoffice/reviews")
    assert response.status_code == 302 and "/backoffice/login" in response["Location"]
    assert client.get("/api/v1/admin/reviews").status_code == 401
