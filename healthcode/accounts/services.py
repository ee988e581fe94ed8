"""Accounts: phone validation, one-time login codes, API tokens.

Every state change of this app goes through one of these functions; the login page, the
JSON API and management commands all call them.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from healthcode.accounts.models import ApiToken, OtpChallenge, TokenScope, User
from healthcode.accounts.sms import send_sms
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.lib.errors import ApiError

PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
CODE_RE = re.compile(r"^[0-9]{6}$")
OTP_MIN_GAP_SECONDS = 60
# Bearer tokens are at most this long; anything longer is not ours and is not even hashed.
MAX_TOKEN_LENGTH = 128
LAST_USED_RESOLUTION = timedelta(minutes=1)


class OtpThrottled(ApiError):
    """A refused code request (429); `retry_after` is the number of seconds to wait."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(429, "throttled", detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class IssuedToken:
    raw: str
    expires_at: datetime


# --- Phone numbers ----------------------------------------------------------------------------


def validate_phone(phone: str | None) -> str:
    """Normalise a mainland mobile number (full-width digits, spaces, dashes and a +86/0086
    prefix are accepted) to its 11 digits, or raise ValidationError on "phone"."""
    value = unicodedata.normalize("NFKC", phone or "")
    value = re.sub(r"[\s\-()]", "", value)
    if not value:
        raise ValidationError(
            {
                "phone": ValidationError(
                    _("请填写手机号（11 位中国大陆手机号码）。"), code="required"
                )
            }
        )
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    else:
        if len(value) == 13 and value.startswith("86"):
            value = value[2:]
    if not PHONE_RE.match(value):
        raise ValidationError(
            {
                "phone": ValidationError(
                    _("手机号必须是 11 位中国大陆手机号码（1 开头，第二位 3–9）。"), code="invalid"
                )
            }
        )
    return value


# --- One-time codes ---------------------------------------------------------------------------


def _hash_code(phone: str, code: str) -> str:
    """HMAC-SHA256 keyed by SECRET_KEY, bound to the phone, so a leaked table reveals nothing
    that a 10^6 brute force of an unkeyed hash would."""
    return salted_hmac("healthcode.accounts.otp", f"{phone}:{code}", algorithm="sha256").hexdigest()


def _lock(*names: str) -> None:
    """Serialise concurrent requests on the same phone/IP so that counting then inserting
    cannot be raced. SQLite runs write transactions one at a time already (IMMEDIATE mode);
    PostgreSQL takes transaction-scoped advisory locks, always in the caller's order."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name in names:
            key = zlib.crc32(name.encode()) - 2**31
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x4843, key])


def _wait_message_minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def _check_throttle(*, phone: str, ip: str | None, now: datetime) -> None:
    hour_ago = now - timedelta(hours=1)
    recent = OtpChallenge.objects.filter(phone=phone, created_at__gt=hour_ago).order_by(
        "-created_at"
    )
    latest = recent.values_list("created_at", flat=True).first()
    if latest is not None:
        wait = OTP_MIN_GAP_SECONDS - (now - latest).total_seconds()
        if wait > 0:
            seconds = math.ceil(wait)
            raise OtpThrottled(
                ngettext(
                    "验证码发送过于频繁：同一手机号两次获取验证码至少间隔 %(gap)d 秒，请 %(seconds)d 秒后再试。",
                    "验证码发送过于频繁：同一手机号两次获取验证码至少间隔 %(gap)d 秒，请 %(seconds)d 秒后再试。",
                    seconds,
                )
                % {"gap": OTP_MIN_GAP_SECONDS, "seconds": seconds},
                retry_after=seconds,
            )
    per_phone = settings.HEALTHCODE_OTP_PER_PHONE_PER_HOUR
    times = list(recent.values_list("created_at", flat=True)[:per_phone])
    if len(times) >= per_phone:
        wait = (times[-1] + timedelta(hours=1) - now).total_seconds()
        minutes = _wait_message_minutes(wait)
        raise OtpThrottled(
            ngettext(
                "该手机号 1 小时内获取验证码已达 %(limit)d 次上限，请 %(minutes)d 分钟后再试。",
                "该手机号 1 小时内获取验证码已达 %(limit)d 次上限，请 %(minutes)d 分钟后再试。",
                minutes,
            )
            % {"limit": per_phone, "minutes": minutes},
            retry_after=math.ceil(wait),
        )
    if ip:
        per_ip = settings.HEALTHCODE_OTP_PER_IP_PER_HOUR
        times = list(
            OtpChallenge.objects.filter(ip=ip, created_at__gt=hour_ago)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:per_ip]
        )
        if len(times) >= per_ip:
            wait = (times[-1] + timedelta(hours=1) - now).total_seconds()
            minutes = _wait_message_minutes(wait)
            raise OtpThrottled(
                ngettext(
                    "您所在的网络 1 小时内获取验证码已达 %(limit)d 次上限，请 %(minutes)d 分钟后再试。",
                    "您所在的网络 1 小时内获取验证码已达 %(limit)d 次上限，请 %(minutes)d 分钟后再试。",
                    minutes,
                )
                % {"limit": per_ip, "minutes": minutes},
                retry_after=math.ceil(wait),
            )


@transaction.atomic
def request_otp(*, phone: str, ip: str | None) -> None:
    """Send a fresh 6-digit login code to `phone` by SMS.

    Raises ValidationError on "phone" for a malformed number and OtpThrottled (ApiError 429)
    when the phone or the IP has asked too often. The SMS is sent inside the transaction: a
    code that could not be handed to the SMS provider is not stored and not counted.
    """
    phone = validate_phone(phone)
    _lock(f"otp-phone:{phone}", *([f"otp-ip:{ip}"] if ip else []))
    now = timezone.now()
    _check_throttle(phone=phone, ip=ip, now=now)

    # The newest code is the only live one: older unused codes of this phone die now.
    OtpChallenge.objects.filter(phone=phone, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    code = f"{secrets.randbelow(10**6):06d}"
    ttl = settings.HEALTHCODE_OTP_TTL_SECONDS
    OtpChallenge.objects.create(
        phone=phone,
        code_hash=_hash_code(phone, code),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        ip=ip,
    )
    minutes = otp_ttl_minutes()
    text = ngettext(
        "【爱南宁健康码】您的登录验证码为 %(code)s，%(minutes)d 分钟内有效。请勿告诉他人。",
        "【爱南宁健康码】您的登录验证码为 %(code)s，%(minutes)d 分钟内有效。请勿告诉他人。",
        minutes,
    ) % {"code": code, "minutes": minutes}
    send_sms(phone, text)


def otp_ttl_minutes() -> int:
    """How long a login code lives, in whole minutes, for messages."""
    return max(1, settings.HEALTHCODE_OTP_TTL_SECONDS // 60)


def code_sent_message() -> str:
    """What the resident is told after a code was sent (page and API say the same)."""
    minutes = otp_ttl_minutes()
    return ngettext(
        "验证码已发送，%(minutes)d 分钟内有效。",
        "验证码已发送，%(minutes)d 分钟内有效。",
        minutes,
    ) % {"minutes": minutes}


def _code_error(message: str, code: str) -> ValidationError:
    return ValidationError({"code": ValidationError(message, code=code)})


def verify_otp(*, phone: str, code: str, ip: str | None) -> User:
    """Check the latest code sent to `phone`; on success mark it used, create the account on
    first login, audit the login and return the user.

    Wrong, expired, used, locked (after HEALTHCODE_OTP_MAX_TRIES wrong tries) and missing
    codes raise ValidationError on "code" with a message saying which. A wrong try is
    committed before the error is raised, so the count survives the refusal.
    """
    phone = validate_phone(phone)
    code = re.sub(r"\s", "", unicodedata.normalize("NFKC", code or ""))
    if not code:
        raise _code_error(_("请填写短信验证码。"), "required")
    if not CODE_RE.match(code):
        # Not a guess at any code, so it costs no try.
        raise _code_error(_("验证码必须是 6 位数字。"), "invalid")

    max_tries = settings.HEALTHCODE_OTP_MAX_TRIES
    with transaction.atomic():
        now = timezone.now()
        challenge = (
            OtpChallenge.objects.select_for_update()
            .filter(phone=phone)
            .order_by("-created_at", "-id")
            .first()
        )
        if challenge is None:
            error = _code_error(_("请先获取短信验证码。"), "missing")
        elif challenge.used_at is not None:
            error = _code_error(_("该验证码已使用过，请重新获取验证码。"), "used")
        elif challenge.tries >= max_tries:
            error = _code_error(
                _("该验证码已连续输错 %(max)d 次而失效，请重新获取验证码。") % {"max": max_tries},
                "locked",
            )
        elif challenge.expires_at <= now:
            error = _code_error(_("验证码已过期，请重新获取验证码。"), "expired")
        elif not hmac.compare_digest(challenge.code_hash, _hash_code(phone, code)):
            challenge.tries += 1
            challenge.save(update_fields=["tries"])
            left = max_tries - challenge.tries
            if left > 0:
                message = ngettext(
                    "验证码不正确，还可以再试 %(left)d 次。",
                    "验证码不正确，还可以再试 %(left)d 次。",
                    left,
                ) % {"left": left}
                error = _code_error(message, "wrong")
            else:
                error = _code_error(
                    _("验证码不正确。该验证码已连续输错 %(max)d 次而失效，请重新获取验证码。")
                    % {"max": max_tries},
                    "locked",
                )
        else:
            error = None
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
            # First login creates the account, with no usable password (codes only).
            user, created = User.objects.get_or_create(
                phone=phone, defaults={"password": make_password(None)}
            )
            if not user.is_active:
                error = ValidationError(
                    {"phone": ValidationError(_("该账号已停用，无法登录。"), code="inactive")}
                )
            else:
                user.last_login = now
                user.save(update_fields=["last_login"])
                audit(
                    action=AuditAction.LOGIN,
                    actor=user,
                    subject=user,
                    detail={"method": "sms_otp", "new_account": created},
                    ip=ip,
                )
    if error is not None:
        raise error
    return user


def purge_otp_challenges(*, before: datetime) -> int:
    """Delete login-code records created before `before` (they only matter for an hour)."""
    deleted, _by_model = OtpChallenge.objects.filter(created_at__lt=before).delete()
    return deleted


# --- API tokens -------------------------------------------------------------------------------


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, user: User, scope: str = TokenScope.RESIDENT) -> IssuedToken:
    """Issue a bearer token for `user`: a random secret of which only the SHA-256 is kept.
    Back-office tokens live for a working day (HEALTHCODE_BACKOFFICE_TOKEN_HOURS)."""
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    if scope == TokenScope.BACKOFFICE:
        expires_at = now + timedelta(hours=settings.HEALTHCODE_BACKOFFICE_TOKEN_HOURS)
    else:
        expires_at = now + timedelta(days=settings.HEALTHCODE_API_TOKEN_DAYS)
    ApiToken.objects.create(
        user=user, key_hash=_hash_token(raw), created_at=now, expires_at=expires_at, scope=scope
    )
    return IssuedToken(raw=raw, expires_at=expires_at)


def issue_api_token(*, user: User, scope: str = TokenScope.RESIDENT) -> str:
    """Issue a bearer token for `user` and return its secret (shown once, never stored)."""
    return create_api_token(user=user, scope=scope).raw


@transaction.atomic
def revoke_api_token(*, raw: str) -> None:
    """Revoke the token whose secret is `raw`; unknown or already revoked tokens are ignored."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return
    ApiToken.objects.filter(key_hash=_hash_token(raw), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def user_for_token(raw: str, *, scope: str | None = None) -> User | None:
    """The active user owning the live (not expired, not revoked) token `raw`, else None;
    with `scope`, only a token of that scope counts.

    last_used_at is refreshed at most once a minute, to spare a write on every request.
    """
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    now = timezone.now()
    # key_hash is unique: a slice, not first(), which would add an ORDER BY to every request.
    token = next(
        iter(
            ApiToken.objects.select_related("user").filter(
                key_hash=_hash_token(raw), revoked_at__isnull=True, expires_at__gt=now
            )[:1]
        ),
        None,
    )
    if token is None or not token.user.is_active:
        return None
    if scope is not None and token.scope != scope:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
