"""Rate limits of the API, counted in the Django cache.

Fixed-window counters: a limit "120/m" counts the requests of one account (or one client
address) in the current minute under one cache key, created by `add` and counted by `incr`,
both atomic; with Redis as the cache (HEALTHCODE_REDIS_URL) every app server and worker counts
into the same key, so the limit holds for the deployment, not per process. A request over a
limit gets 429 with Retry-After (the seconds left in the window) and a message naming the limit.

The limits are settings.HEALTHCODE_RATE_LIMITS["<scope>_<account|ip>"]; an API operation opts
in with `@rate_limited("<scope>")` under its router decorator, which checks after
authentication (so the account is known) and before the view runs.

A cache that fails (Redis down) lets requests through: the limits protect the service, and a
scanner at a gate must not stop because of them. /readyz reports the cache.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from ninja.utils import contribute_operation_callback

from healthcode.lib.errors import ApiError

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"^(\d+)/(\d*)([smhd]?)$")
KEY_PREFIX = "rl"

# In the context "rate limit": the same words are button labels elsewhere ("获取验证码").
ACTIONS = {
    "scan": pgettext_lazy("rate limit", "扫码核验"),
    "checkin": pgettext_lazy("rate limit", "健康打卡"),
    "otp": pgettext_lazy("rate limit", "获取验证码"),
    "login": pgettext_lazy("rate limit", "验证码登录"),
}
IDENTS = {"account": _("每个账号"), "ip": _("每个网络地址")}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@functools.lru_cache(maxsize=64)
def parse_rate(text: str) -> Rate | None:
    """"120/m" → Rate(120, 60); "20/10s" and "20/10" → Rate(20, 10); "off" or "" → None."""
    text = re.sub(r"\s", "", text).lower()
    if text in ("", "off"):
        return None
    match = _RATE_RE.match(text)
    if not match or not (match[2] or match[3]) or int(match[1]) < 1 or match[2] == "0":
        raise ImproperlyConfigured(
            f"rate limit {text!r}: use <count>/<period>, period s, m, h, d or seconds, or off"
        )
    return Rate(int(match[1]), int(match[2] or 1) * _UNITS[match[3] or "s"])


@dataclass(frozen=True)
class Limit:
    scope: str
    ident_kind: str
    ident: str
    rate: Rate


class RateLimited(ApiError):
    """429 `{"error": "throttled", "detail": …}`; `retry_after` becomes the Retry-After header."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(429, "throttled", detail)
        self.retry_after = retry_after


def _period(seconds: int) -> str:
    named = {60: _("每分钟"), 3600: _("每小时"), 86400: pgettext_lazy("rate limit", "每天")}
    if seconds in named:
        return str(named[seconds])
    return ngettext("每 %(n)d 秒", "每 %(n)d 秒", seconds) % {"n": seconds}


def limit_message(limit: Limit, retry_after: int) -> str:
    return ngettext(
        "%(action)s过于频繁：%(who)s%(period)s最多 %(limit)d 次，请 %(wait)d 秒后再试。",
        "%(action)s过于频繁：%(who)s%(period)s最多 %(limit)d 次，请 %(wait)d 秒后再试。",
        limit.rate.count,
    ) % {
        "action": ACTIONS.get(limit.scope, limit.scope),
        "who": IDENTS[limit.ident_kind],
        "period": _period(limit.rate.seconds),
        "limit": limit.rate.count,
        "wait": retry_after,
    }


def _count(keys: Sequence[tuple[str, int]]) -> list[int]:
    """Add one to each (key, timeout) counter and return the new counts."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # One round trip for all counters instead of Django's EXISTS + INCR per counter: the
        # same add-then-increment, pipelined (SET NX EX creates the window's key with its expiry).
        client = cache._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key, timeout in keys:
            full_key = cache.make_and_validate_key(key)
            pipe.set(full_key, 0, ex=timeout, nx=True)
            pipe.incr(full_key)
        return [int(n) for n in pipe.execute()[1::2]]
    counts = []
    for key, timeout in keys:
        cache.add(key, 0, timeout)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # the window ended between add and incr
            cache.add(key, 0, timeout)
            counts.append(cache.incr(key))
    return counts


_last_failure_logged = 0.0


def hit(limits: Sequence[Limit], *, now: float | None = None) -> tuple[Limit, int] | None:
    """Count one request against each limit; return the first limit exceeded with the seconds
    until its window ends, or None. Counts even refused requests (a flood stays refused)."""
    global _last_failure_logged
    if not limits:
        return None
    now = time.time() if now is None else now
    keys = []
    waits = []
    for limit in limits:
        window, elapsed = divmod(now, limit.rate.seconds)
        wait = max(1, int(limit.rate.seconds - elapsed + 0.999))
        waits.append(wait)
        keys.append((f"{KEY_PREFIX}:{limit.scope}:{limit.ident_kind}:{limit.ident}:{int(window)}",
                     wait + 1))
    try:
        counts = _count(keys)
    except Exception as exc:
        if now - _last_failure_logged > 60:
            _last_failure_logged = now
            logger.warning("rate limits not counted (cache unavailable): %s", type(exc).__name__)
        return None
    for limit, count, wait in zip(limits, counts, waits, strict=True):
        if count > limit.rate.count:
            return limit, wait
    return None


def _ident(request: HttpRequest, kind: str) -> str | None:
    if kind == "account":
        user = getattr(request, "auth", None)
        return str(user.pk) if getattr(user, "pk", None) is not None else None
    from healthcode.accounts.auth import client_ip

    return client_ip(request)


def check(request: HttpRequest, scope: str) -> None:
    """Raise RateLimited when this request goes over one of the scope's limits."""
    rates = settings.HEALTHCODE_RATE_LIMITS
    limits = []
    for kind in ("account", "ip"):
        rate = parse_rate(rates.get(f"{scope}_{kind}", "off"))
        ident = _ident(request, kind) if rate else None
        if rate and ident:
            limits.append(Limit(scope, kind, ident, rate))
    exceeded = hit(limits)
    if exceeded is not None:
        limit, wait = exceeded
        raise RateLimited(limit_message(limit, wait), retry_after=wait)


def rate_limited(scope: str) -> Callable[[F], F]:
    """Put an API operation under the scope's rate limits; write it under @router.<method>."""

    def decorate(view: F) -> F:
        def contribute(operation: Any) -> None:
            # Wraps the operation's call of the view, which ninja makes after authentication
            # and input parsing and inside its error handling (RateLimited answers 429).
            view_func = operation.view_func

            @functools.wraps(view_func)
            def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                check(request, scope)
                return view_func(request, *args, **kwargs)

            operation.view_func = limited

        contribute_operation_callback(view, contribute)
        return view

    return decorate
