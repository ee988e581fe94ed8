"""Role × endpoint matrix of the message centre and "who viewed my data", API and pages:
every persona sees only their own messages and views; a message of the resident is 404 for
everyone else; anonymous callers get 401 (API) or the login page."""

from __future__ import annotations

import pytest
from django.test import Client

from healthcode.notifications.services import notify
from healthcode.testing import ApiClient

pytestmark = pytest.mark.django_db

PERSONAS = [
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "reviewer",
    "manager",
    "co_manager",
    "scanner",
    "employee",
    "other_manager",
    "resident",
    "anonymous",
]


def expect(owner: int, others: int, anonymous: int) -> dict[str, int]:
    table = {name: others for name in PERSONAS}
    table.update(resident=owner, anonymous=anonymous)
    return table


# (method, path, expected status per persona); {message} is a message of the resident
API = {
    "list": ("get", "/messages", expect(200, 200, 401)),
    "read_one": ("post", "/messages/{message}/read", expect(200, 404, 401)),
    "read_all": ("post", "/messages/read-all", expect(200, 200, 401)),
    "data_views": ("get", "/me/data-views", expect(200, 200, 401)),
}
PAGES = {
    "index": ("get", "/messages/", expect(200, 200, 302)),
    "read_one": ("post", "/messages/{message}/read", expect(302, 404, 302)),
    "read_all": ("post", "/messages/read-all", expect(302, 302, 302)),
    "data_views": ("get", "/messages/views", expect(200, 200, 302)),
}


@pytest.fixture
def world(request, resident, acme):
    users = {name: request.getfixturevalue(name) for name in PERSONAS if name not in ("anonymous",)}
    message = notify(
        user=resident,
        kind="other",
        title_zh="通知",
        body_zh="内容。",
        title_en="Notice",
        body_en="Text.",
        sms=False,
    )
    return users, {"message": message.pk}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", sorted(API))
def test_it_authorises_the_api(world, persona, endpoint):
    """Each API call answers each persona as the matrix says."""
    users, ids = world
    method, path, expected = API[endpoint]
    client = ApiClient(users.get(persona))
    url = path.format(**ids)
    r = client.get(url) if method == "get" else client.post(url, {})
    assert r.status_code == expected[persona], r.content


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", sorted(PAGES))
def test_it_authorises_the_pages(world, persona, endpoint):
    """Each page answers each persona as the matrix says; anonymous goes to the login page."""
    users, ids = world
    method, path, expected = PAGES[endpoint]
    client = Client()
    if persona != "anonymous":
        client.force_login(users[persona])
    url = path.format(**ids)
    r = client.get(url) if method == "get" else client.post(url)
    assert r.status_code == expected[persona]
    if persona == "anonymous":
        assert "/login" in r["Location"]
