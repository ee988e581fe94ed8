"""Role × endpoint matrix for every appeals endpoint and page: the back-office ones over city
admin, district admin (own district and another), industry admin, reviewer, enterprise
manager, resident and anonymous; the resident ones over the owner, another resident and
anonymous."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from healthcode.appeals import services
from healthcode.appeals.tests.conftest import png_bytes
from healthcode.testing import AdminApiClient, ApiClient, backoffice_client

STAFF = [
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "reviewer",
    "manager",
    "resident",
    "anonymous",
]
# The expected status per persona: in scope 200, another district 404, industry admin 403
# (not a reviewer), no admin role 403, anonymous 401.
ONE = {
    "city_admin": 200,
    "district_admin": 200,
    "other_district_admin": 404,
    "industry_admin": 403,
    "reviewer": 200,
    "manager": 403,
    "resident": 403,
    "anonymous": 401,
}
LIST = {**ONE, "other_district_admin": 200}
# Pages: visitors are sent to the back-office login.
PAGE = {**ONE, "anonymous": 302}
PAGE_LIST = {**PAGE, "other_district_admin": 200}


@pytest.fixture
def appeal(appellant, fever_code):
    image = SimpleUploadedFile("a.png", png_bytes())
    return services.submit_appeal(
        account=appellant, code=fever_code, subject="color", text="体温计坏了。", files=[image]
    )


def persona(request, name):
    return None if name == "anonymous" else request.getfixturevalue(name)


ADMIN_ENDPOINTS = [
    ("get", "/admin/appeals", None, LIST),
    ("get", "/admin/appeals/{id}", None, ONE),
    ("post", "/admin/appeals/{id}/start", {}, ONE),
    ("post", "/admin/appeals/{id}/decision", {"upheld": False, "note": "属实。"}, ONE),
    ("get", "/admin/appeals/{id}/attachments/1", None, ONE),
]


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize(("method", "path", "body", "expected"), ADMIN_ENDPOINTS)
def test_it_guards_the_admin_api(request, appeal, who, method, path, body, expected):
    """Each admin endpoint answers each persona as the matrix says."""
    api = AdminApiClient(persona(request, who))
    url = path.format(id=appeal.pk)
    r = api.get(url) if method == "get" else api.post(url, body)
    assert r.status_code == expected[who], (who, url, r.content[:200])


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/appeals/queue", PAGE_LIST),
        ("get", "/appeals/queue/{id}", PAGE),
        ("post", "/appeals/queue/{id}", PAGE),
        ("post", "/appeals/queue/{id}/start", PAGE),
        ("get", "/appeals/queue/{id}/attachments/1", PAGE),
    ],
)
def test_it_guards_the_back_office_pages(request, appeal, who, method, path, expected):
    """Each back-office page answers each persona as the matrix says."""
    user = persona(request, who)
    client = backoffice_client(user) if user is not None else Client()
    url = path.format(id=appeal.pk)
    if method == "get":
        r = client.get(url)
    else:
        r = client.post(url, {"action": "dismiss", "note": "属实。"})
    status = r.status_code
    if status == 302 and who != "anonymous":
        status = 200  # a successful POST redirects to the appeal
    assert status == expected[who], (who, url, r.status_code)


RESIDENTS = ["owner", "other", "anonymous"]


def resident_persona(request, who):
    return {
        "owner": lambda: request.getfixturevalue("appellant"),
        "other": lambda: request.getfixturevalue("resident"),
        "anonymous": lambda: None,
    }[who]()


@pytest.mark.parametrize(
    ("who", "expected"), [("owner", 201), ("other", 404), ("anonymous", 401)]
)
def test_it_guards_submitting(request, fever_code, who, expected):
    """Only the holder of the code may appeal it."""
    api = ApiClient(resident_persona(request, who))
    r = api.client.post(
        f"/api/v1/codes/{fever_code.public_id}/appeals",
        data={"subject": "color", "text": "有误。"},
        **api.headers,
    )
    assert r.status_code == expected


@pytest.mark.parametrize(
    ("who", "list_status", "count", "one_status"),
    [("owner", 200, 1, 200), ("other", 200, 0, 404), ("anonymous", 401, None, 401)],
)
def test_it_guards_my_appeals(request, appeal, who, list_status, count, one_status):
    """GET /appeals shows the caller's own only; GET /appeals/{id} 404 for others."""
    api = ApiClient(resident_persona(request, who))
    r = api.get("/appeals")
    assert r.status_code == list_status
    if count is not None:
        assert r.json()["count"] == count
    assert api.get(f"/appeals/{appeal.pk}").status_code == one_status


@pytest.mark.parametrize(
    ("who", "expected"), [("owner", 200), ("other", 404), ("anonymous", 302)]
)
@pytest.mark.parametrize(
    "path", ["/appeals/{id}", "/appeals/{id}/attachments/1", "/appeals/new?code={code}"]
)
def test_it_guards_the_resident_pages(request, appeal, who, expected, path):
    """The owner sees their appeal, image and form; another resident 404; visitors log in."""
    user = resident_persona(request, who)
    client = Client()
    if user is not None:
        client.force_login(user)
    r = client.get(path.format(id=appeal.pk, code=appeal.code.public_id))
    assert r.status_code == expected


@pytest.mark.parametrize(("who", "expected"), [("owner", 200), ("other", 200), ("anonymous", 302)])
def test_it_guards_the_list_page(request, appeal, who, expected):
    """/appeals/ lists one's own appeals only."""
    user = resident_persona(request, who)
    client = Client()
    if user is not None:
        client.force_login(user)
    r = client.get("/appeals/")
    assert r.status_code == expected
    if who == "other":
        assert f'id="appeal-{appeal.pk}"' not in r.content.decode()
