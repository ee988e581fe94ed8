"""Who may use the live status and daily report endpoints and pages, for every persona.

An enterprise's status, draft, reports and pages are for its managers and co-managers: anyone
else logged in gets 404 (the enterprise does not exist for them, whatever their role —
scanners and employees of acme included, and admins in scope too: they have the overview).
The overview of reports is for city, district and industry admins: others 403. Anonymous
callers get 401 from the API and the login page from the pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from healthcode.enterprises.models import DailyReport
from healthcode.testing import ApiClient

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


@pytest.fixture
def world(acme, globex, manager, co_manager, scanner, employee, other_manager):
    return acme


def _user(request, persona: str):
    return None if persona == "anonymous" else request.getfixturevalue(persona)


def _api(request, persona: str, method: str, path: str):
    client = ApiClient(_user(request, persona))
    if method == "POST":
        return client.post(path, {"day": timezone.localdate().isoformat()})
    return client.get(path)


ENTERPRISE_API = [
    ("GET", "/enterprises/{id}/status", 200),
    ("GET", "/enterprises/{id}/reports/draft", 200),
    ("POST", "/enterprises/{id}/reports", 201),
    ("GET", "/enterprises/{id}/reports", 200),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("method,path,ok", ENTERPRISE_API)
def test_it_authorises_the_enterprise_api(request, world, persona, method, path, ok):
    """Managers and co-managers: the answer; other accounts: 404; anonymous: 401. A refused
    submission writes nothing."""
    response = _api(request, persona, method, path.format(id=world.pk))
    if persona in MANAGERS:
        assert response.status_code == ok
    elif persona == "anonymous":
        assert response.status_code == 401
    else:
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    if method == "POST" and persona not in MANAGERS:
        assert not DailyReport.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_authorises_the_overview_api(request, world, persona):
    """City, district and industry admins: 200; other accounts: 403 not_an_admin;
    anonymous: 401."""
    response = _api(request, persona, "GET", "/enterprises/reports")
    if persona in ADMINS:
        assert response.status_code == 200
    elif persona == "anonymous":
        assert response.status_code == 401
    else:
        assert response.status_code == 403
        assert response.json()["error"] == "not_an_admin"


def _page(request, persona: str, method: str, path: str):
    client = Client()
    user = _user(request, persona)
    if user is not None:
        client.force_login(user)
    if method == "POST":
        return client.post(path, {"day": timezone.localdate().isoformat()})
    return client.get(path)


ENTERPRISE_PAGES = [
    ("GET", "/enterprises/{id}/dashboard", 200),
    ("GET", "/enterprises/{id}/report", 200),
    ("POST", "/enterprises/{id}/report", 302),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("method,path,ok", ENTERPRISE_PAGES)
def test_it_authorises_the_enterprise_pages(request, world, persona, method, path, ok):
    """Managers and co-managers: the page (a submission redirects to it); other accounts:
    404; anonymous: the login page."""
    response = _page(request, persona, method, path.format(id=world.pk))
    if persona in MANAGERS:
        assert response.status_code == ok
    elif persona == "anonymous":
        assert response.status_code == 302
        assert "/accounts/" in response["Location"]
    else:
        assert response.status_code == 404
    if method == "POST" and persona not in MANAGERS:
        assert not DailyReport.objects.exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_authorises_the_overview_page(request, world, persona):
    """City, district and industry admins: 200; other accounts: 403; anonymous: the login
    page."""
    response = _page(request, persona, "GET", "/enterprises/oversight/reports")
    if persona in ADMINS:
        assert response.status_code == 200
    elif persona == "anonymous":
        assert response.status_code == 302
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("path", ["/enterprises/{id}/status", "/enterprises/reports"])
def test_it_refuses_other_methods(world, manager, path):
    """Read-only endpoints answer 405 to a POST."""
    response = ApiClient(manager).post(path.format(id=world.pk), {})
    assert response.status_code == 405


def test_it_documents_the_endpoints_in_the_openapi_schema(db):
    """The status and report endpoints are in the OpenAPI schema."""
    paths = Client().get("/api/v1/schema").json()["paths"]
    for path in (
        "/api/v1/enterprises/reports",
        "/api/v1/enterprises/{enterprise_id}/status",
        "/api/v1/enterprises/{enterprise_id}/reports/draft",
        "/api/v1/enterprises/{enterprise_id}/reports",
    ):
        assert path in paths
