from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from healthcode.accounts.models import OtpChallenge, User
from healthcode.accounts.services import OtpThrottled, request_otp, validate_phone, verify_otp
from healthcode.accounts.tests.conftest import Clock, last_code
from healthcode.audit.models import AuditRecord

PHONE = "13800138000"
IP = "203.0.113.7"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def code_error(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    error = exc.value.error_dict["code"][0]
    return error.code or "", str(error.message)


@pytest.mark.parametrize(
    "raw",
    ["13800138000", " 138 0013 8000 ", "+86 138-0013-8000", "008613800138000", "８６13800138000"],
)
def test_it_normalises_phone_numbers(raw: str) -> None:
    """Spaces, dashes, full-width digits and a +86/0086/86 prefix are accepted."""
    assert validate_phone(raw) == PHONE


@pytest.mark.parametrize(
    "raw", ["", "1380013800", "138001380001", "12800138000", "23800138000", "1380013800a"]
)
def test_it_rejects_invalid_phone_numbers(raw: str) -> None:
    """Anything but an 11-digit mainland mobile number fails on the field "phone"."""
    with pytest.raises(ValidationError) as exc:
        validate_phone(raw)
    assert list(exc.value.message_dict) == ["phone"]
    assert "手机号" in exc.value.message_dict["phone"][0]


@pytest.mark.django_db
def test_it_sends_a_six_digit_code_and_stores_only_its_hash(
    locmem_sms: list[dict[str, str]],
) -> None:
    """The SMS carries a 6-digit code; the database keeps a keyed hash, never the code."""
    request_otp(phone="+86 13800138000", ip=IP)
    assert len(locmem_sms) == 1
    message = locmem_sms[0]
    assert message["to"] == PHONE
    assert message["text"].startswith("【爱南宁健康码】您的登录验证码为 ")
    assert "5 分钟内有效" in message["text"]
    code = last_code(PHONE)
    challenge = OtpChallenge.objects.get()
    assert challenge.phone == PHONE and challenge.ip == IP
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64
    assert (challenge.expires_at - challenge.created_at).total_seconds() == 300


@pytest.mark.django_db
def test_it_logs_in_with_the_right_code_and_creates_the_account() -> None:
    """The first login creates the account, marks the code used and audits the login."""
    request_otp(phone=PHONE, ip=IP)
    user = verify_otp(phone=PHONE, code=last_code(PHONE), ip=IP)
    assert user.phone == PHONE and user.is_active and not user.has_usable_password()
    assert user.last_login is not None
    assert OtpChallenge.objects.get().used_at is not None
    record = AuditRecord.objects.get(action="login")
    assert record.actor == user and record.ip == IP and record.detail["new_account"] is True


@pytest.mark.django_db
def test_it_logs_in_an_existing_account_without_creating_another() -> None:
    """A known phone logs into its existing account."""
    existing = User.objects.create_user(PHONE)
    request_otp(phone=PHONE, ip=IP)
    assert verify_otp(phone=PHONE, code=f" {last_code(PHONE)} ", ip=IP) == existing
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_a_wrong_code_and_counts_the_try() -> None:
    """A wrong code fails on "code", says how many tries are left, and the try is kept."""
    request_otp(phone=PHONE, ip=IP)
    with pytest.raises(ValidationError) as exc:
        verify_otp(phone=PHONE, code=wrong(last_code(PHONE)), ip=IP)
    kind, message = code_error(exc)
    assert kind == "wrong"
    assert "验证码不正确" in message and "4 次" in message
    assert OtpChallenge.objects.get().tries == 1
    assert not User.objects.exists()


@pytest.mark.django_db
def test_it_locks_the_code_after_five_wrong_tries() -> None:
    """After 5 wrong tries the code is dead, even the right one; a new code works again."""
    request_otp(
        phone=PHONE,
        ip=IP,
    )
    code = last_code(PHONE)
    kinds = []
    for _ in range(5):
        with pytest.raises(ValidationError) as exc:
            verify_otp(phone=PHONE, code=wrong(code), ip=IP)
        kinds.append(code_error(exc)[0])
    assert kinds == ["wrong"] * 4 + ["locked"]
    with pytest.raises(ValidationError) as exc:
        verify_otp(phone=PHONE, code=code, ip=IP)
    kind, message = code_error(exc)
    assert kind == "locked"
    assert "5 次" in message and "重新获取" in message
    assert OtpChallenge.objects.get().tries == 5  # locked codes take no further tries
    assert not User.objects.exists()


@pytest.mark.django_db
def test_it_accepts_a_new_code_after_a_lockout(clock: Clock) -> None:
    """A lockout kills one code, not the phone: the next code logs in."""
    request_otp(phone=PHONE, ip=IP)
    for _ in range(5):
        with pytest.raises(ValidationError):
            verify_otp(phone=PHONE, code=wrong(last_code(PHONE)), ip=IP)
    clock.advance(seconds=61)
    request_otp(phone=PHONE, ip=IP)
    assert verify_otp(phone=PHONE, code=last_code(PHONE), ip=IP).phone == PHONE


@pytest.mark.django_db
def test_it_refuses_an_expired_code(clock: Clock) -> None:
    """A code is valid for 5 minutes and refused as expired afterwards."""
    request_otp(phone=PHONE, ip=IP)
    clock.advance(seconds=299)
    code = last_code(PHONE)
    with pytest.raises(ValidationError):
        verify_otp(phone=PHONE, code=wrong(code), ip=IP)  # still live: a normal wrong try
    clock.advance(seconds=2)
    with pytest.raises(ValidationError) as exc:
        verify_otp(phone=PHONE, code=code, ip=IP)
    kind, message = code_error(exc)
    assert kind == "expired" and "过期" in message


@pytest.mark.django_db
def test_it_refuses_a_code_used_before() -> None:
    """A code logs in once; using it again is refused."""
    request_otp(phone=PHONE, ip=IP)
    code = last_code(PHONE)
    verify_otp(phone=PHONE, code=code, ip=IP)
    with pytest.raises(ValidationError) as exc:
        verify_otp(phone=PHONE, code=code, ip=IP)
    kind, message = code_error(exc)
    assert kind == "used" and "已使用" in message


@pytest.mark.django_db
def test_it_supersedes_older_codes_with_a_new_one(clock: Clock) -> None:
    """Requesting a new code kills the previous unused one."""
    request_otp(phone=PHONE, ip=IP)
    old = last_code(PHONE)
    clock.advance(seconds=61)
    request_otp(phone=PHONE, ip=IP)
    new = last_code(PHONE)
    if old != new:
        with pytest.raises(ValidationError):
            verify_otp(phone=PHONE, code=old, ip=IP)
    assert verify_otp(phone=PHONE, code=new, ip=IP).phone == PHONE
    first = OtpChallenge.objects.order_by("created_at").first()
    assert first is not None and first.expires_at == first.created_at + timedelta(seconds=61)


@pytest.mark.django_db
def test_it_asks_for_a_code_first_when_none_was_sent() -> None:
    """Verifying without any code sent to the phone says to request one."""
    with pytest.raises(ValidationError) as exc:
        verify_otp(phone=PHONE, code="123456", ip=IP)
    assert code_error(exc)[0] == "missing"


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef"])
@pytest.mark.django_db
def test_it_refuses_a_malformed_code_without_counting_a_try(code: str) -> None:
    """A code that is not 6 digits fails on "code" and costs no try."""
    request_otp(phone=PHONE, ip=IP)
    with pytest.raises(ValidationError) as exc:
        verify_otp(phone=PHONE, code=code, ip=IP)
    assert code_error(exc)[0] in {"required", "invalid"}
    assert OtpChallenge.objects.get().tries == 0


@pytest.mark.django_db
def test_it_refuses_a_deactivated_account() -> None:
    """A deactivated account cannot log in, and nothing is audited as a login."""
    User.objects.create_user(PHONE, is_active=False)
    request_otp(phone=PHONE, ip=IP)
    with pytest.raises(ValidationError) as exc:
        verify_otp(phone=PHONE, code=last_code(PHONE), ip=IP)
    assert "phone" in exc.value.message_dict
    assert not AuditRecord.objects.filter(action="login").exists()


@pytest.mark.django_db
def test_it_refuses_a_second_code_within_a_minute(clock: Clock) -> None:
    """Two codes to one phone are at least 60 s apart; the refusal says how long to wait."""
    request_otp(phone=PHONE, ip=IP)
    clock.advance(seconds=20)
    with pytest.raises(OtpThrottled) as exc:
        request_otp(phone=PHONE, ip=IP)
    assert exc.value.status == 429 and exc.value.code == "throttled"
    assert "40 秒后再试" in exc.value.detail
    assert exc.value.retry_after == 40
    assert OtpChallenge.objects.count() == 1
    clock.advance(seconds=41)
    request_otp(phone=PHONE, ip=IP)
    assert OtpChallenge.objects.count() == 2


@pytest.mark.django_db
def test_it_stores_no_code_when_the_sms_cannot_be_sent(settings: object) -> None:
    """If the SMS provider fails, no code is stored and none counts against the limits."""
    settings.HEALTHCODE_SMS_BACKEND = f"{__name__}.BrokenBackend"  # type: ignore[attr-defined]
    with pytest.raises(ConnectionError):
        request_otp(phone=PHONE, ip=IP)
    assert not OtpChallenge.objects.exists()


class BrokenBackend:
    def send(self, to: str, text: str) -> None:
        raise ConnectionError("provider down")
