"""Who may import employees and export an enterprise's data: its manager and co-managers.
For everyone else the enterprise does not exist (404) — its scanner, a plain employee,
another enterprise's manager, the admins who oversee it, a resident; anonymous callers get
401 from the API and the login page from the pages. Every endpoint × every persona."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from healthcode.enterprises.models import Employee
from healthcode.testing import ApiClient

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
ALLOWED = {"manager", "co_manager"}
CSV = "姓名,手机号\r\n覃新人,13900000077\r\n".encode()


def staff_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("staff.csv", CSV)


# (method, path under /api/v1 or the site, status when allowed)
API_ENDPOINTS = [
    ("get", "/enterprises/{id}/employees/template?format=xlsx", 200),
    ("get", "/enterprises/{id}/employees/template?format=csv", 200),
    ("post", "/enterprises/{id}/employees/import", 201),
    ("get", "/enterprises/{id}/exports/employees?format=xlsx", 200),
    ("get", "/enterprises/{id}/exports/employees?format=csv", 200),
    ("get", "/enterprises/{id}/exports/attendance?format=xlsx&from=2020-02-01", 200),
    ("get", "/enterprises/{id}/exports/attendance?format=csv", 200),
]
PAGE_ENDPOINTS = [
    ("get", "/enterprises/{id}/import", 200),
    ("post", "/enterprises/{id}/import", 200),
    ("get", "/enterprises/{id}/import/template?format=xlsx", 200),
    ("get", "/enterprises/{id}/exports", 200),
    ("get", "/enterprises/{id}/exports/employees?format=csv", 200),
    ("get", "/enterprises/{id}/exports/attendance?format=xlsx", 200),
]


def _user(request, persona: str):
    request.getfixturevalue("globex")  # other_manager manages an enterprise of their own
    return None if persona == "anonymous" else request.getfixturevalue(persona)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("method", "path", "allowed_status"), API_ENDPOINTS)
def test_it_lets_only_the_enterprises_managers_use_the_api(
    request, acme, persona, method, path, allowed_status
):
    """Managers and co-managers get the file or the import; anonymous 401; anyone else 404,
    and nothing is imported for them."""
    user = _user(request, persona)
    api = ApiClient(user)
    url = "/api/v1" + path.format(id=acme.pk)
    if method == "post":
        response = api.client.post(url, {"file": staff_file()}, **api.headers)
    else:
        response = api.client.get(url, **api.headers)
    if persona in ALLOWED:
        expected = allowed_status
    elif persona == "anonymous":
        expected = 401
    else:
        expected = 404
    assert response.status_code == expected, (persona, path, response.content[:300])
    imported = Employee.objects.filter(phone="13900000077").exists()
    assert imported == (method == "post" and persona in ALLOWED)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("method", "path", "allowed_status"), PAGE_ENDPOINTS)
def test_it_lets_only_the_enterprises_managers_use_the_pages(
    request, acme, persona, method, path, allowed_status
):
    """The pages: managers and co-managers get them; anonymous visitors are sent to log in;
    anyone else 404."""
    user = _user(request, persona)
    client = Client()
    if user is not None:
        client.force_login(user)
    url = path.format(id=acme.pk)
    if method == "post":
        response = client.post(url, {"file": staff_file()})
    else:
        response = client.get(url)
    if persona in ALLOWED:
        assert response.status_code == allowed_status, (persona, path)
    elif persona == "anonymous":
        assert response.status_code == 302
        assert "/accounts/" in response["Location"]
    else:
        assert response.status_code == 404, (persona, path)
    imported = Employee.objects.filter(phone="13900000077").exists()
    assert imported == (method == "post" and persona in ALLOWED)


def test_it_answers_404_for_another_enterprises_data(other_manager, globex, acme):
    """A manager of globex asking for acme's files or importing into acme → 404, even with
    a valid file; their own enterprise works."""
    api = ApiClient(other_manager)
    assert api.get(f"/enterprises/{acme.pk}/exports/employees").status_code == 404
    response = api.client.post(
        f"/api/v1/enterprises/{acme.pk}/employees/import", {"file": staff_file()}, **api.headers
    )
    assert response.status_code == 404
    assert not Employee.objects.filter(phone="13900000077").exists()
    assert api.get(f"/enterprises/{globex.pk}/exports/employees").status_code == 200
    assert api.get("/enterprises/999999/exports/employees").status_code == 404
