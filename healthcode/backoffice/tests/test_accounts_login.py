"""The back-office login: phone + password, then an SMS code (the accounts app's OTP with its
throttles and lockouts); a generic message for a wrong password or an unknown phone, counted,
and the phone locked after repeated failures. `@backoffice_required` pages and the API token
call (`POST /api/v1/admin/auth/otp`, `POST /api/v1/admin/auth/token`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.backoffice import applications
from healthcode.backoffice.auth import SESSION_KEY
from healthcode.backoffice.tests.accounts_personas import *  # noqa: F403
from healthcode.backoffice.tests.accounts_personas import PASSWORD, last_code, with_password
from healthcode.testing import AdminApiClient, ApiClient, backoffice_client

pytestmark = pytest.mark.django_db

WRONG = "not-the-password-1"


@pytest.fixture
def admin(city_admin):
    return with_password(city_admin)


def password_step(client: Client, phone: str, password: str, next_url: str = ""):
    data = {"action": "password", "phone": phone, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/backoffice/login", data)


def code_step(client: Client, code: str, next_url: str = ""):
    data = {"action": "verify", "code": code}
    if next_url:
        data["next"] = next_url
    return client.post("/backoffice/login", data)


def test_the_login_page_has_the_password_step():
    """Step 1's fields and button."""
    page = Client().get("/backoffice/login").content.decode()
    for element in ('id="id_phone"', 'id="id_password"', 'id="login-password"'):
        assert element in page
    assert 'id="id_code"' not in page


def test_it_logs_in_with_password_and_code(admin, sms_outbox):
    """Right password → the code is sent and step 2 shows; right code → the session is
    logged in and marked verified, on to the back-office home with the roles; audited."""
    c = Client()
    r = password_step(c, admin.phone, PASSWORD)
    page = r.content.decode()
    assert 'id="id_code"' in page and 'id="login-code"' in page and 'id="otp-sent"' in page
    assert "138****0108" in page
    assert len(sms_outbox) == 1
    assert SESSION_KEY not in c.session
    r = code_step(c, last_code(admin.phone))
    assert r.status_code == 302 and r["Location"] == "/backoffice/"
    assert SESSION_KEY in c.session
    assert int(c.session["_auth_user_id"]) == admin.pk
    page = c.get("/backoffice/").content.decode()
    assert 'id="my-roles"' in page and "市级管理员" in page and 'id="backoffice-nav"' in page
    record = AuditRecord.objects.get(action="backoffice_login")
    assert record.actor == admin and admin.phone not in str(record.detail)


def test_it_goes_on_to_a_same_site_next(admin, district_admin):
    """`next` is followed when same-site, ignored otherwise."""
    c = Client()
    password_step(c, admin.phone, PASSWORD, next_url="/backoffice/enterprises")
    r = code_step(c, last_code(admin.phone), next_url="/backoffice/enterprises")
    assert r["Location"] == "/backoffice/enterprises"
    c = Client()
    with_password(district_admin)
    password_step(c, district_admin.phone, PASSWORD)
    r = code_step(c, last_code(district_admin.phone), next_url="https://evil.example/")
    assert r["Location"] == "/backoffice/"


def test_a_wrong_password_and_an_unknown_phone_read_the_same(admin, sms_outbox):
    """Wrong password or no such account: the same generic message, no SMS, no hint; each
    attempt is recorded as a failure without the phone number."""
    wrong = password_step(Client(), admin.phone, WRONG).content.decode()
    unknown = password_step(Client(), "13900000999", WRONG).content.decode()
    for page in (wrong, unknown):
        assert "手机号或密码不正确" in page
        assert 'id="id_code"' not in page
    assert sms_outbox == []
    failures = AuditRecord.objects.filter(action="backoffice_login_failed")
    assert failures.count() == 2
    assert all(
        admin.phone not in str(f.detail) and "13900000999" not in str(f.detail) for f in failures
    )


def test_a_wrong_code_does_not_log_in(admin):
    """A wrong code: the code step again with the OTP message, no back-office mark."""
    c = Client()
    password_step(c, admin.phone, PASSWORD)
    code = last_code(admin.phone)
    wrong = "000000" if code != "000000" else "111111"
    page = code_step(c, wrong).content.decode()
    assert "验证码不正确" in page and 'id="id_code"' in page
    assert SESSION_KEY not in c.session and "_auth_user_id" not in c.session


def test_the_code_step_needs_the_password_step(admin):
    """Posting a code without having passed the password in this session: start again."""
    page = code_step(Client(), "123456").content.decode()
    assert "请重新输入手机号和密码" in page and 'id="id_password"' in page


def test_a_resend_goes_through_the_otp_throttle(admin, sms_outbox):
    """Asking for another code at once is refused by the accounts app's throttle."""
    c = Client()
    password_step(c, admin.phone, PASSWORD)
    page = c.post("/backoffice/login", {"action": "resend"}).content.decode()
    assert "验证码发送过于频繁" in page and 'id="id_code"' in page
    assert len(sms_outbox) == 1


def test_it_locks_the_phone_after_repeated_failures(admin, settings, sms_outbox):
    """After 5 wrong passwords even the right one is refused for a while (no SMS); an
    unknown phone locks alike; the lock ends with the window."""
    settings.HEALTHCODE_BACKOFFICE_LOGIN_MAX_FAILURES = 5
    settings.HEALTHCODE_BACKOFFICE_LOGIN_LOCK_MINUTES = 15
    for _ in range(5):
        password_step(Client(), admin.phone, WRONG)
        password_step(Client(), "13900000999", WRONG)
    for phone in (admin.phone, "13900000999"):
        page = password_step(Client(), phone, PASSWORD).content.decode()
        assert "失败次数过多" in page and 'id="id_code"' not in page
    assert sms_outbox == []
    response = ApiClient().post("/admin/auth/otp", {"phone": admin.phone, "password": PASSWORD})
    assert response.status_code == 429 and response.json()["error"] == "login_locked"
    assert int(response["Retry-After"]) > 0
    later = timezone.now() + timedelta(minutes=16)
    assert applications.login_locked_for(admin.phone, later) == 0
    assert applications.check_login_password(phone=admin.phone, password=PASSWORD, now=later)


def test_a_successful_login_resets_the_count(admin):
    """4 failures, a login, 4 failures: not locked."""
    for _ in range(4):
        password_step(Client(), admin.phone, WRONG)
    c = Client()
    password_step(c, admin.phone, PASSWORD)
    code_step(c, last_code(admin.phone))
    for _ in range(4):
        password_step(Client(), admin.phone, WRONG)
    assert applications.login_locked_for(admin.phone) == 0


def test_an_account_without_a_role_is_told_so_after_the_password(resident, sms_outbox):
    """A right password of an account with no role: refused, no SMS."""
    with_password(resident)
    page = password_step(Client(), resident.phone, PASSWORD).content.decode()
    assert "没有管理系统的角色" in page and 'id="id_code"' not in page
    assert sms_outbox == []


def test_a_plain_session_is_sent_to_the_backoffice_login(admin):
    """@backoffice_required: logged in by SMS only → the back-office login with next."""
    c = Client()
    c.force_login(admin)
    r = c.get("/backoffice/")
    assert r.status_code == 302 and r["Location"] == "/backoffice/login?next=/backoffice/"


def test_a_stale_backoffice_mark_is_sent_back_to_the_login(admin, settings):
    """A verification older than HEALTHCODE_BACKOFFICE_SESSION_HOURS no longer counts."""
    c = backoffice_client(admin)
    session = c.session
    session[SESSION_KEY] = (
        timezone.now() - timedelta(hours=settings.HEALTHCODE_BACKOFFICE_SESSION_HOURS + 1)
    ).isoformat()
    session.save()
    assert c.get("/backoffice/").status_code == 302


def test_a_verified_session_without_a_role_gets_403(resident):
    """@backoffice_required: verified but no role in force → 403."""
    assert backoffice_client(resident).get("/backoffice/").status_code == 403


def test_the_home_page_shows_the_reviewers_role(qingxiu_reviewer):
    """A reviewer's home: its role and district."""
    page = backoffice_client(qingxiu_reviewer).get("/backoffice/").content.decode()
    assert "审核员" in page and "青秀区" in page


# --- API ------------------------------------------------------------------------------------


def test_the_api_issues_a_backoffice_token_after_password_and_code(admin, sms_outbox):
    """otp (password) → 202 and an SMS; token (password + code) → a token that works on
    /admin/…; no prior authentication needed."""
    anonymous = ApiClient()
    response = anonymous.post("/admin/auth/otp", {"phone": admin.phone, "password": PASSWORD})
    assert response.status_code == 202 and len(sms_outbox) == 1
    response = anonymous.post(
        "/admin/auth/token",
        {"phone": admin.phone, "password": PASSWORD, "code": last_code(admin.phone)},
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = Client().get("/api/v1/admin/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 200
    assert [r["kind"] for r in me.json()["roles"]] == ["city_admin"]


def test_the_api_refuses_wrong_password_unknown_phone_and_wrong_code(admin, sms_outbox):
    """Wrong password / unknown phone: 400 on password, the same message, no SMS. Wrong
    code: 400 on code, no token."""
    anonymous = ApiClient()
    wrong = anonymous.post("/admin/auth/otp", {"phone": admin.phone, "password": WRONG})
    unknown = anonymous.post("/admin/auth/otp", {"phone": "13900000999", "password": WRONG})
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json() and "password" in wrong.json()["errors"]
    assert sms_outbox == []
    anonymous.post("/admin/auth/otp", {"phone": admin.phone, "password": PASSWORD})
    code = last_code(admin.phone)
    response = anonymous.post(
        "/admin/auth/token",
        {"phone": admin.phone, "password": PASSWORD, "code": "000000" if code != "000000" else "1"},
    )
    assert response.status_code == 400 and "code" in response.json()["errors"]
    response = anonymous.post(
        "/admin/auth/token", {"phone": admin.phone, "password": WRONG, "code": code}
    )
    assert response.status_code == 400 and "password" in response.json()["errors"]


def test_the_api_gives_no_token_to_an_account_without_a_role(resident, sms_outbox):
    """Right password, no role: 403 not_an_admin, no SMS."""
    with_password(resident)
    response = ApiClient().post("/admin/auth/otp", {"phone": resident.phone, "password": PASSWORD})
    assert response.status_code == 403 and response.json()["error"] == "not_an_admin"
    assert sms_outbox == []


def test_a_resident_token_does_not_open_the_admin_api(admin):
    """A token from the resident login (scope resident) is not a back-office token: 401."""
    assert ApiClient(admin).get("/admin/me").status_code == 401
    assert AdminApiClient(admin).get("/admin/me").status_code == 200
