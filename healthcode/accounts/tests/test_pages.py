from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from healthcode.accounts.tests.conftest import last_code, last_code_in_file

PHONE = "13800138000"
LOGIN = "/accounts/login/"
pytestmark = pytest.mark.django_db


def test_it_shows_the_phone_step_first(client: Client) -> None:
    """GET shows the phone field and the send button, not yet the code field."""
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_phone"' in html and 'id="send-code"' in html
    assert 'id="id_code"' not in html


def test_it_logs_in_through_the_page(client: Client, sms_file: Path) -> None:
    """Send, read the code from the SMS file, verify: the session is established and the
    resident lands on the safe `next`."""
    response = client.post(LOGIN, {"phone": PHONE, "action": "send", "next": "/codes/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_code"' in html and 'id="verify-code"' in html
    assert 'value="/codes/"' in html
    code = last_code_in_file(sms_file, PHONE)

    response = client.post(
        LOGIN, {"phone": PHONE, "code": code, "action": "verify", "next": "/codes/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/codes/"
    assert client.session.get("_auth_user_id")


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/x", "javascript:1"])
def test_it_ignores_an_unsafe_next(client: Client, unsafe: str) -> None:
    """A `next` to another site is ignored: the resident lands on "/"."""
    client.post(LOGIN, {"phone": PHONE, "action": "send"})
    response = client.post(
        LOGIN, {"phone": PHONE, "code": last_code(PHONE), "action": "verify", "next": unsafe}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_shows_a_phone_error_beside_the_field(client: Client) -> None:
    """An invalid phone re-shows the phone step with the rule beside the field."""
    response = client.post(LOGIN, {"phone": "12345", "action": "send"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_phone_error"' in html
    assert "手机号必须是 11 位中国大陆手机号码" in html
    assert 'id="id_code"' not in html


def test_it_shows_a_wrong_code_error_beside_the_field(client: Client) -> None:
    """A wrong code keeps the code step and says so beside the code field; no session."""
    client.post(LOGIN, {"phone": PHONE, "action": "send"})
    bad = f"{(int(last_code(PHONE)) + 1) % 1_000_000:06d}"
    response = client.post(LOGIN, {"phone": PHONE, "code": bad, "action": "verify"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_code_error"' in html and "验证码不正确" in html
    assert "_auth_user_id" not in client.session


def test_it_shows_the_wait_when_codes_come_too_fast(client: Client) -> None:
    """A second send within a minute shows how long to wait and keeps the code field."""
    client.post(LOGIN, {"phone": PHONE, "action": "send"})
    response = client.post(LOGIN, {"phone": PHONE, "action": "send"})
    html = response.content.decode()
    assert "秒后再试" in html and 'id="id_code"' in html


def test_it_requires_csrf_on_the_login_form() -> None:
    """The login form is CSRF-protected."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"phone": PHONE, "action": "send"})
    assert response.status_code == 403


def test_it_logs_out_on_post_only(client: Client) -> None:
    """GET /accounts/logout/ is 405; POST ends the session."""
    client.post(LOGIN, {"phone": PHONE, "action": "send"})
    client.post(LOGIN, {"phone": PHONE, "code": last_code(PHONE), "action": "verify"})
    assert client.session.get("_auth_user_id")
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
