from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.test.utils import override_settings

from healthcode.accounts.auth import SessionCookieAuth, client_ip
from healthcode.accounts.models import OtpChallenge, User
from healthcode.accounts.services import issue_api_token, user_for_token
from healthcode.accounts.tests.conftest import Clock, last_code, last_code_in_file
from healthcode.lib.errors import ApiError

PHONE = "13800138000"
pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: dict[str, object], **extra: str) -> object:
    return client.post(f"/api/v1{path}", body, content_type="application/json", **extra)


def test_it_sends_a_code_through_the_api(client: Client, sms_file: Path) -> None:
    """POST /auth/otp answers 202 and the SMS (file backend) carries a 6-digit code."""
    response = post(client, "/auth/otp", {"phone": PHONE})
    assert response.status_code == 202
    assert "验证码已发送" in response.json()["detail"]
    assert len(last_code_in_file(sms_file, PHONE)) == 6


def test_it_exchanges_a_code_for_a_bearer_token(client: Client) -> None:
    """POST /auth/token answers 200 {"token", "expires_at"}; the token identifies the user."""
    post(client, "/auth/otp", {"phone": PHONE})
    response = post(client, "/auth/token", {"phone": PHONE, "code": last_code(PHONE)})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    assert datetime.fromisoformat(body["expires_at"]).tzinfo is not None
    user = user_for_token(body["token"])
    assert user is not None and user.phone == PHONE


def test_it_rejects_an_invalid_phone_in_chinese_by_default(client: Client) -> None:
    """A malformed phone is 400 {"errors": {"phone": [...]}} with a Chinese message."""
    response = post(client, "/auth/otp", {"phone": "12345"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"phone": ["手机号必须是 11 位中国大陆手机号码（1 开头，第二位 3–9）。"]}
    }


def test_it_names_the_phone_field_when_english_is_asked_for(client: Client) -> None:
    """With Accept-Language: en the error is still 400 on the field "phone"."""
    response = post(client, "/auth/otp", {"phone": "12345"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["phone"] and errors["phone"][0]


def test_it_rejects_a_missing_phone_on_the_field(client: Client) -> None:
    """A body without "phone" is 400 on the field "phone"."""
    response = post(client, "/auth/otp", {})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["phone"]


def test_it_rejects_a_wrong_code_on_the_field(client: Client) -> None:
    """A wrong code is 400 on the field "code" and gives no token."""
    post(client, "/auth/otp", {"phone": PHONE})
    code = f"{(int(last_code(PHONE)) + 1) % 1_000_000:06d}"
    response = post(client, "/auth/token", {"phone": PHONE, "code": code})
    assert response.status_code == 400
    assert "验证码不正确" in response.json()["errors"]["code"][0]


def test_it_locks_the_code_through_the_api_after_five_wrong_tries(client: Client) -> None:
    """Five wrong codes, then the right one is refused too."""
    post(client, "/auth/otp", {"phone": PHONE})
    code = last_code(PHONE)
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert post(client, "/auth/token", {"phone": PHONE, "code": bad}).status_code == 400
    response = post(client, "/auth/token", {"phone": PHONE, "code": code})
    assert response.status_code == 400
    assert "失效" in response.json()["errors"]["code"][0]


def test_it_throttles_codes_to_one_phone(client: Client, clock: Clock) -> None:
    """A second code within 60 s, and a sixth within the hour, are 429 saying how long to wait."""
    assert post(client, "/auth/otp", {"phone": PHONE}).status_code == 202
    response = post(client, "/auth/otp", {"phone": PHONE})
    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert "60 秒后再试" in response.json()["detail"]
    for _ in range(4):
        clock.advance(seconds=61)
        assert post(client, "/auth/otp", {"phone": PHONE}).status_code == 202
    clock.advance(seconds=61)
    response = post(client, "/auth/otp", {"phone": PHONE})
    assert response.status_code == 429
    assert response.json() == {
        "error": "throttled",
        "detail": "该手机号 1 小时内获取验证码已达 5 次上限，请 55 分钟后再试。",
    }
    clock.advance(minutes=55)
    assert post(client, "/auth/otp", {"phone": PHONE}).status_code == 202


@override_settings(HEALTHCODE_OTP_PER_IP_PER_HOUR=3)
def test_it_throttles_codes_from_one_address(client: Client) -> None:
    """Past the per-IP hourly limit, any phone from that address gets 429; others do not."""
    for n in range(3):
        assert post(client, "/auth/otp", {"phone": f"1390013900{n}"}).status_code == 202
    response = post(client, "/auth/otp", {"phone": "13900139009"})
    assert response.status_code == 429
    assert "网络" in response.json()["detail"]
    other = post(client, "/auth/otp", {"phone": "13900139009"}, REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 202
    assert OtpChallenge.objects.filter(ip="127.0.0.1").count() == 3


@override_settings(HEALTHCODE_OTP_PER_IP_PER_HOUR=1)
def test_it_ignores_x_forwarded_for_unless_told_to_trust_it(client: Client) -> None:
    """A client cannot dodge the per-IP limit by sending its own X-Forwarded-For."""
    post(client, "/auth/otp", {"phone": "13900139000"}, HTTP_X_FORWARDED_FOR="10.0.0.1")
    response = post(client, "/auth/otp", {"phone": "13900139001"}, HTTP_X_FORWARDED_FOR="10.0.0.2")
    assert response.status_code == 429


def test_it_reads_the_proxy_address_only_when_trusted(rf: RequestFactory) -> None:
    """Behind our proxy the last X-Forwarded-For entry (the one it appended) is the client."""
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5")
    assert client_ip(request) == "10.0.0.9"
    with override_settings(HEALTHCODE_TRUST_X_FORWARDED_FOR=True):
        assert client_ip(request) == "203.0.113.5"


def test_it_revokes_the_token_on_logout(client: Client) -> None:
    """POST /auth/logout is 401 without a valid token, 204 with one, and kills the token."""
    raw = issue_api_token(user=User.objects.create_user(PHONE))
    assert post(client, "/auth/logout", {}).status_code == 401
    bad = post(client, "/auth/logout", {}, HTTP_AUTHORIZATION="Bearer nope")
    assert bad.status_code == 401
    assert bad.json()["error"] == "unauthorized"
    response = post(client, "/auth/logout", {}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 204
    assert user_for_token(raw) is None
    assert post(client, "/auth/logout", {}, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_it_documents_the_auth_calls_in_the_openapi_schema(client: Client) -> None:
    """The schema at /api/v1/schema lists the three calls with their answers."""
    schema = client.get("/api/v1/schema").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/auth/otp"]["post"]["responses"]) >= {"202", "400", "429"}
    assert set(paths["/api/v1/auth/token"]["post"]["responses"]) >= {"200", "400"}
    assert "204" in paths["/api/v1/auth/logout"]["post"]["responses"]
    assert paths["/api/v1/auth/logout"]["post"]["security"] == [{"BearerAuth": []}]
    assert "BearerAuth" in schema["components"]["securitySchemes"]


def test_it_authenticates_the_session_only_with_a_csrf_token(rf: RequestFactory) -> None:
    """Session auth: no cookie is simply anonymous; a cookie on an unsafe request needs CSRF."""
    auth = SessionCookieAuth()
    user = User.objects.create_user(PHONE)

    anonymous = rf.post("/api/v1/x")
    assert auth(anonymous) is None

    forged = rf.post("/api/v1/x", HTTP_COOKIE="sessionid=abc")
    forged.user = user
    with pytest.raises(ApiError) as exc:
        auth(forged)
    assert exc.value.status == 403 and exc.value.code == "csrf_failed"

    secret = "a" * 32
    good = rf.post(
        "/api/v1/x", HTTP_COOKIE=f"sessionid=abc; csrftoken={secret}", HTTP_X_CSRFTOKEN=secret
    )
    good.user = user
    assert auth(good) == user

    safe = rf.get("/api/v1/x", HTTP_COOKIE="sessionid=abc")
    safe.user = user
    assert auth(safe) == user
