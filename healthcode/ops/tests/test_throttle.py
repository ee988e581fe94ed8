"""Rate limits of the API (healthcode/lib/throttle.py): counted in the cache, shared through
Redis, 429 with Retry-After and a message naming the limit, open when the cache is down."""

from __future__ import annotations

import pytest
import redis
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from healthcode.accounts import sms
from healthcode.lib import throttle
from healthcode.lib.throttle import Limit, Rate, parse_rate
from healthcode.ops.checks import check_rate_limits
from healthcode.testing import ApiClient, declaration, id_number, make_user

pytestmark = pytest.mark.django_db

HEALTHY = {"temperature": 36.6, "symptoms": [], "in_nanning": True, "new_contact": False}


def limits(**rates: str) -> dict[str, str]:
    names = ["scan_account", "scan_ip", "checkin_account", "checkin_ip", "otp_ip", "login_ip"]
    return {name: rates.get(name, "off") for name in names}


@pytest.fixture(autouse=True)
def _sms_in_memory(settings) -> None:
    settings.HEALTHCODE_SMS_BACKEND = "locmem"
    sms.outbox.clear()


@pytest.fixture
def alice():
    return make_user("13800000001")


@pytest.fixture
def code_id(alice) -> str:
    return ApiClient(alice).post("/codes", declaration()).json()["id"]


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("120/m", Rate(120, 60)),
        ("5/h", Rate(5, 3600)),
        ("1/d", Rate(1, 86400)),
        ("3/s", Rate(3, 1)),
        ("20/10s", Rate(20, 10)),
        ("20/10", Rate(20, 10)),
        (" 7 / 2m ", Rate(7, 120)),
        ("off", None),
        ("", None),
    ],
)
def test_it_reads_rates(text: str, rate: Rate | None) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["120", "0/m", "12/0", "x/m", "5/w", "-1/m", "5/m/2"])
def test_it_rejects_malformed_rates(text: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        parse_rate(text)


def test_it_reports_a_malformed_rate_in_the_system_checks(settings) -> None:
    settings.HEALTHCODE_RATE_LIMITS = limits(scan_account="lots/m")
    (error,) = check_rate_limits()
    assert error.id == "healthcode.ops.E001"
    assert error.msg.startswith("HEALTHCODE_RATE_SCAN_ACCOUNT:")


def test_it_has_defaults_that_a_gate_scanner_never_reaches() -> None:
    """Outside tests: a scan every second (60 a minute) and a family's check-ins pass; the
    OTP limit per address is under the database's hourly one only for bursts."""
    from healthcode import settings as project_settings

    rates = {name: parse_rate(text) for name, text in project_settings._RATE_DEFAULTS.items()}
    per_minute = {name: r.count * 60 / r.seconds for name, r in rates.items() if r}
    assert set(per_minute) == set(limits())
    assert per_minute["scan_account"] >= 60
    assert per_minute["checkin_account"] >= 10
    assert per_minute["scan_ip"] >= 10 * per_minute["scan_account"]


def test_it_refuses_the_check_in_over_the_accounts_limit(settings, alice, code_id) -> None:
    settings.HEALTHCODE_RATE_LIMITS = limits(checkin_account="2/h")
    api = ApiClient(alice)
    assert api.post(f"/codes/{code_id}/checkins", HEALTHY).status_code == 201
    assert api.post(f"/codes/{code_id}/checkins", HEALTHY).status_code == 201
    r = api.post(f"/codes/{code_id}/checkins", HEALTHY)
    assert r.status_code == 429
    wait = int(r["Retry-After"])
    assert 1 <= wait <= 3600
    assert r.json() == {
        "error": "throttled",
        "detail": f"健康打卡过于频繁：每个账号每小时最多 2 次，请 {wait} 秒后再试。",
    }
    # Another account is counted on its own.
    bob = make_user("13800000002")
    bobs = ApiClient(bob).post("/codes", declaration(name="钱小明", id_number=id_number(seq=124)))
    bobs_code = bobs.json()["id"]
    assert ApiClient(bob).post(f"/codes/{bobs_code}/checkins", HEALTHY).status_code == 201


def test_it_refuses_scans_over_the_scanners_limit(settings, alice, code_id) -> None:
    settings.HEALTHCODE_RATE_LIMITS = limits(scan_account="3/m")
    payload = ApiClient(alice).get(f"/codes/{code_id}/qr").json()["payload"]
    scanner = ApiClient(make_user("13900000009"))
    for _ in range(3):
        assert scanner.post("/scans", {"payload": payload}).json()["valid"] is True
    r = scanner.post("/scans", {"payload": payload})
    assert r.status_code == 429
    assert r.json()["detail"].startswith("扫码核验过于频繁：每个账号每分钟最多 3 次")
    assert 1 <= int(r["Retry-After"]) <= 60


def test_it_names_the_limit_in_english(settings) -> None:
    settings.HEALTHCODE_RATE_LIMITS = limits(otp_ip="1/m")
    api = ApiClient(language="en")
    assert api.post("/auth/otp", {"phone": "13700000001"}).status_code == 202
    r = api.post("/auth/otp", {"phone": "13700000002"})
    assert r.status_code == 429
    assert r.json()["detail"].startswith(
        "Too many login code requests: at most 1 request per network address per minute."
    )


def test_it_refuses_login_codes_over_the_addresses_limit(settings) -> None:
    """Before the per-phone and per-address hourly limits counted in the database."""
    settings.HEALTHCODE_RATE_LIMITS = limits(otp_ip="2/m")
    api = ApiClient()
    assert api.post("/auth/otp", {"phone": "13700000001"}).status_code == 202
    assert api.post("/auth/otp", {"phone": "13700000002"}).status_code == 202
    r = api.post("/auth/otp", {"phone": "13700000003"})
    assert r.status_code == 429
    assert r.json()["detail"].startswith("获取验证码过于频繁：每个网络地址每分钟最多 2 次")
    assert len(sms.outbox) == 2
    # The database's own limit still answers first for a phone asking again within 60 s.
    settings.HEALTHCODE_RATE_LIMITS = limits()
    r = api.post("/auth/otp", {"phone": "13700000001"})
    assert r.status_code == 429
    assert "60 秒" in r.json()["detail"]


def test_it_refuses_logins_over_the_addresses_limit(settings) -> None:
    settings.HEALTHCODE_RATE_LIMITS = limits(login_ip="1/m")
    api = ApiClient()
    assert api.post("/auth/token", {"phone": "13700000001", "code": "000000"}).status_code == 400
    r = api.post("/auth/token", {"phone": "13700000001", "code": "000000"})
    assert r.status_code == 429
    assert r.json()["detail"].startswith("验证码登录过于频繁：每个网络地址每分钟最多 1 次")


def test_it_counts_in_fixed_windows() -> None:
    limit = Limit("scan", "account", "42", Rate(2, 60))
    base = 1_800_000_000.0  # a multiple of 60: a window starts here
    assert throttle.hit([limit], now=base + 10) is None
    assert throttle.hit([limit], now=base + 20) is None
    assert throttle.hit([limit], now=base + 30) == (limit, 30)
    # The next window starts from zero.
    assert throttle.hit([limit], now=base + 60.5) is None


def test_it_counts_in_redis_with_keys_that_expire_with_the_window(redis_cache: str) -> None:
    limit = Limit("checkin", "account", "7", Rate(5, 3600))
    base = 1_800_000_000.0 - 1_800_000_000.0 % 3600
    for _ in range(5):
        assert throttle.hit([limit], now=base + 600) is None
    assert throttle.hit([limit], now=base + 600) == (limit, 3000)
    # The same key Django's cache API reads, under the cache's prefix, with a TTL.
    key = f"rl:checkin:account:7:{int(base // 3600)}"
    assert cache.get(key) == 6
    client = redis.Redis.from_url(redis_cache)
    (raw_key,) = client.keys("healthcode:*:rl:checkin:*")
    assert raw_key.decode() == f"healthcode:1:{key}"
    assert 0 < client.ttl(raw_key) <= 3001


def test_it_limits_through_redis(settings, redis_cache: str, alice, code_id) -> None:
    settings.HEALTHCODE_RATE_LIMITS = limits(checkin_account="1/h")
    api = ApiClient(alice)
    assert api.post(f"/codes/{code_id}/checkins", HEALTHY).status_code == 201
    assert api.post(f"/codes/{code_id}/checkins", HEALTHY).status_code == 429


def test_it_lets_requests_through_when_the_cache_is_down(settings, dead_redis_cache: str,
                                                         alice, code_id) -> None:
    """A scanner at a gate keeps working while Redis is down (/readyz reports it)."""
    settings.HEALTHCODE_RATE_LIMITS = limits(checkin_account="1/h")
    api = ApiClient(alice)
    assert api.post(f"/codes/{code_id}/checkins", HEALTHY).status_code == 201
    assert api.post(f"/codes/{code_id}/checkins", HEALTHY).status_code == 201
