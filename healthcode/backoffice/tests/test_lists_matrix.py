"""Role × endpoint matrix of the official lists: every API call and page, for a city admin,
a district admin (own district 450103 and another, 450102), an industry admin, a reviewer,
an enterprise manager, a resident and an anonymous visitor.

Lists are city-wide: only city admins use them. Other admins get 403 `city_admin_only`,
accounts without an admin role 403 `not_an_admin`, anonymous API callers 401 and anonymous
page visitors the back-office login. A refused call changes nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from healthcode.backoffice.models import AdminRole
from healthcode.codes.models import OfficialListEntry, OfficialListImport
from healthcode.codes.official_lists import import_official_list
from healthcode.codes.tests.test_official_lists import (
    csv_bytes,
    csv_upload,
    listed_day,
    person,
)
from healthcode.testing import AdminApiClient, backoffice_client, id_number, make_user

pytestmark = pytest.mark.django_db

PERSONAS = (
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "lists_reviewer",
    "manager",
    "resident",
    "anonymous",
)
NO_ROLE = {"manager", "resident"}


@pytest.fixture
def other_district_admin(db):
    """An admin of 兴宁区 (450102), another district than the personas'."""
    user = make_user("13800000410")
    AdminRole.objects.create(user=user, kind="district_admin", district_id="450102")
    return user


@pytest.fixture
def lists_reviewer(db):
    """A reviewer of 青秀区 (450103)."""
    user = make_user("13800000411")
    AdminRole.objects.create(user=user, kind="reviewer", district_id="450103")
    return user


@pytest.fixture
def batch(city_admin):
    """One imported list: a matched person (a code in 450103) and an unmatched one."""
    person("13900000201", 201, "赵小刚")
    day = listed_day().isoformat()
    rows = [
        ("赵小刚", id_number(seq=201), "确诊病例", day, ""),
        ("孙无码", id_number(seq=203), "密切接触者", day, ""),
    ]
    return import_official_list(actor=city_admin, file=csv_upload(rows))


def actor(request, persona: str):
    return None if persona == "anonymous" else request.getfixturevalue(persona)


def new_file() -> bytes:
    return csv_bytes([("钱多多", id_number(seq=202), "疑似病例", listed_day(1).isoformat(), "")])


def api_calls(batch) -> list[tuple[str, str, int]]:
    """(name, method + path, the city admin's status)."""
    entry = batch.entries.get(code__isnull=False)
    base = "/admin/official-lists"
    return [
        ("template", f"GET {base}/template?format=csv", 200),
        ("import", f"POST {base}", 201),
        ("batches", f"GET {base}", 200),
        ("batch", f"GET {base}/{batch.pk}", 200),
        ("withdraw", f"POST {base}/entries/{entry.pk}/withdraw", 200),
    ]


def call_api(client: AdminApiClient, spec: str):
    method, path = spec.split(" ", 1)
    if method == "GET":
        return client.get(path)
    if path.endswith("/withdraw"):
        return client.post(path, {"reason": "矩阵测试"})
    return client.client.post(
        f"/api/v1{path}",
        data={"file": SimpleUploadedFile("new.csv", new_file())},
        **client.headers,
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_matrix(request, batch, persona):
    """Every API call: the city admin succeeds; other admins 403 city_admin_only; accounts
    without a role 403 not_an_admin; anonymous 401 — and refused calls change nothing."""
    user = actor(request, persona)
    client = AdminApiClient(user)
    for name, spec, ok in api_calls(batch):
        r = call_api(client, spec)
        if persona == "city_admin":
            assert r.status_code == ok, (name, r.content)
        elif persona == "anonymous":
            assert r.status_code == 401, name
        else:
            assert r.status_code == 403, (persona, name)
            expected = "not_an_admin" if persona in NO_ROLE else "city_admin_only"
            assert r.json()["error"] == expected, (persona, name)
    withdrawn = OfficialListEntry.objects.filter(withdrawn_at__isnull=False).count()
    if persona == "city_admin":
        assert OfficialListImport.objects.count() == 2 and withdrawn == 1
    else:
        assert OfficialListImport.objects.count() == 1 and withdrawn == 0


def page_calls(batch) -> list[tuple[str, str, int]]:
    entry = batch.entries.get(code__isnull=False)
    return [
        ("index", "GET /backoffice/lists", 200),
        ("upload", "POST /backoffice/lists", 200),
        ("template", "GET /backoffice/lists/template?format=xlsx", 200),
        ("batch", f"GET /backoffice/lists/{batch.pk}", 200),
        ("withdraw", f"POST /backoffice/lists/entries/{entry.pk}/withdraw", 302),
    ]


def call_page(client: Client, spec: str):
    method, path = spec.split(" ", 1)
    if method == "GET":
        return client.get(path)
    if path.endswith("/withdraw"):
        return client.post(path, {"reason": "矩阵测试"})
    return client.post(path, {"file": SimpleUploadedFile("new.csv", new_file())})


@pytest.mark.parametrize("persona", PERSONAS)
def test_page_matrix(request, batch, persona):
    """Every page: the city admin succeeds; every other account 403; anonymous visitors
    are sent to the back-office login — and refused calls change nothing."""
    user = actor(request, persona)
    client = backoffice_client(user) if user is not None else Client()
    for name, spec, ok in page_calls(batch):
        r = call_page(client, spec)
        if persona == "city_admin":
            assert r.status_code == ok, (name, r.status_code)
        elif persona == "anonymous":
            assert r.status_code == 302 and "login" in r["Location"], name
        else:
            assert r.status_code == 403, (persona, name)
    withdrawn = OfficialListEntry.objects.filter(withdrawn_at__isnull=False).count()
    if persona == "city_admin":
        assert OfficialListImport.objects.count() == 2 and withdrawn == 1
    else:
        assert OfficialListImport.objects.count() == 1 and withdrawn == 0


@pytest.mark.parametrize("persona", ["district_admin", "resident"])
def test_page_matrix_without_the_backoffice_login(request, batch, persona):
    """A plain resident session (no password + second factor) is sent to the back-office
    login rather than shown the page."""
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    r = client.get("/backoffice/lists")
    assert r.status_code == 302 and "login" in r["Location"]
