"""The message centre: the page /messages/ and the API /api/v1/messages — one's own messages
only, newest first, unread highlighted, marking read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from healthcode.notifications.models import Notification
from healthcode.notifications.services import notify
from healthcode.testing import ApiClient

pytestmark = pytest.mark.django_db


def _message(user, title: str, *, minutes_ago: int = 0) -> Notification:
    message = notify(
        user=user,
        kind="other",
        title_zh=title,
        body_zh=f"{title}的内容。",
        title_en=f"EN {title}",
        body_en=f"Body of EN {title}.",
        sms=False,
    )
    Notification.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return message


@pytest.fixture
def inbox(resident, manager):
    """Two messages for the resident (the older one read), one for the manager."""
    old = _message(resident, "旧消息", minutes_ago=10)
    Notification.objects.filter(pk=old.pk).update(read_at=timezone.now())
    new = _message(resident, "新消息", minutes_ago=1)
    others = _message(manager, "经理的消息")
    return {"old": old, "new": new, "others": others}


def test_it_lists_only_my_messages_newest_first(resident, inbox):
    """GET /messages: the account's own messages, newest first, with the unread count."""
    r = ApiClient(resident).get("/messages")
    assert r.status_code == 200
    body = r.json()
    assert body["unread"] == 1
    assert [m["id"] for m in body["items"]] == [inbox["new"].pk, inbox["old"].pk]
    assert [m["read"] for m in body["items"]] == [False, True]
    assert body["items"][0]["title"] == "新消息"
    assert body["items"][0]["kind"] == "other"


def test_it_answers_in_english(resident, inbox):
    """With Accept-Language: en the English text is shown."""
    r = ApiClient(resident, language="en").get("/messages")
    assert r.json()["items"][0]["title"] == "EN 新消息"
    assert r.json()["items"][0]["body"] == "Body of EN 新消息."


def test_it_limits_the_list_and_rejects_a_bad_limit(resident, inbox):
    """?limit bounds the list (1–500); anything else is a field error."""
    assert len(ApiClient(resident).get("/messages?limit=1").json()["items"]) == 1
    r = ApiClient(resident).get("/messages?limit=0")
    assert r.status_code == 400
    assert "limit" in r.json()["errors"]


def test_it_marks_one_message_read(resident, inbox):
    """POST /messages/{id}/read marks it read (idempotently)."""
    client = ApiClient(resident)
    r = client.post(f"/messages/{inbox['new'].pk}/read", {})
    assert r.status_code == 200
    assert r.json()["read"] is True
    first = r.json()["read_at"]
    assert client.post(f"/messages/{inbox['new'].pk}/read", {}).json()["read_at"] == first
    assert client.get("/messages").json()["unread"] == 0


def test_it_hides_other_peoples_messages(resident, inbox):
    """Another account's message does not exist for me: 404, and it stays unread."""
    r = ApiClient(resident).post(f"/messages/{inbox['others'].pk}/read", {})
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert ApiClient(resident).post("/messages/999999/read", {}).status_code == 404
    inbox["others"].refresh_from_db()
    assert inbox["others"].read_at is None
    assert Client().get("/messages/").status_code == 302
    page = Client()
    page.force_login(resident)
    assert page.post(f"/messages/{inbox['others'].pk}/read").status_code == 404


def test_it_rejects_a_malformed_message_id(resident, inbox):
    """A non-numeric id is a field error, not a server error."""
    assert ApiClient(resident).post("/messages/abc/read", {}).status_code == 400


def test_it_marks_all_read(resident, manager, inbox):
    """POST /messages/read-all marks my unread messages read, nobody else's."""
    r = ApiClient(resident).post("/messages/read-all", {})
    assert r.status_code == 200
    assert r.json() == {"marked": 1}
    assert ApiClient(resident).post("/messages/read-all", {}).json() == {"marked": 0}
    inbox["others"].refresh_from_db()
    assert inbox["others"].read_at is None


def test_it_shows_the_centre_page(resident, inbox):
    """/messages/ lists my messages, the unread one highlighted, with the mark-read button;
    another account's message is absent."""
    client = Client()
    client.force_login(resident)
    r = client.get("/messages/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="messages"' in html
    assert f'id="message-{inbox["new"].pk}" class="unread"' in html
    assert f'id="message-{inbox["old"].pk}" class="read"' in html
    assert f'id="message-{inbox["others"].pk}"' not in html
    assert "经理的消息" not in html
    assert html.index("新消息") < html.index("旧消息")
    assert 'id="mark-read"' in html


def test_it_marks_read_from_the_page(resident, inbox):
    """The page's buttons mark one or all messages read and come back to the centre."""
    client = Client()
    client.force_login(resident)
    r = client.post(f"/messages/{inbox['new'].pk}/read")
    assert r.status_code == 302 and r["Location"] == "/messages/"
    inbox["new"].refresh_from_db()
    assert inbox["new"].read_at is not None
    newer = _message(resident, "又一条")
    r = client.post("/messages/read-all")
    assert r.status_code == 302
    newer.refresh_from_db()
    assert newer.read_at is not None
    assert 'id="mark-read"' not in client.get("/messages/").content.decode()
    assert client.get("/messages/read-all").status_code == 405


def test_it_shows_the_unread_badge_on_the_home_page(resident, inbox):
    """The home page links to the centre with the number of unread messages."""
    client = Client()
    client.force_login(resident)
    html = client.get("/").content.decode()
    assert 'id="to-messages"' in html
    assert 'id="unread-count">1<' in html
    client.post("/messages/read-all")
    html = client.get("/").content.decode()
    assert 'id="to-messages"' in html and 'id="unread-count"' not in html


def test_it_asks_anonymous_callers_to_log_in(inbox):
    """Anonymous: the pages redirect to the login page, the API answers 401."""
    for path in ["/messages/", "/messages/views"]:
        r = Client().get(path)
        assert r.status_code == 302 and "/login" in r["Location"]
    assert Client().post("/messages/read-all").status_code == 302
    api = ApiClient()
    assert api.get("/messages").status_code == 401
    assert api.post("/messages/read-all", {}).status_code == 401
    assert api.post(f"/messages/{inbox['new'].pk}/read", {}).status_code == 401
    assert api.get("/me/data-views").status_code == 401
    inbox["new"].refresh_from_db()
    assert inbox["new"].read_at is None
