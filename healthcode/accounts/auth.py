"""Authentication for the JSON API: bearer tokens (native app, integrations) and the Django
session (the pages' own JavaScript). Routers that need a logged-in user use

    router = Router(auth=api_auth)

and read the user from `request.auth` (also set as `request.user`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from healthcode.accounts.models import User
from healthcode.accounts.services import user_for_token
from healthcode.lib.errors import ApiError


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <token>` with a token from POST /auth/token."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token.strip())
        if user is None:
            return None
        request.user = user
        request.bearer_token = token.strip()  # type: ignore[attr-defined]  # for /auth/logout
        return user


class SessionCookieAuth(SessionAuth):
    """Django's session, with CSRF enforced for unsafe methods (the pages' JS sends the
    X-CSRFToken header). Unlike ninja's SessionAuth, a request without a session cookie is
    simply unauthenticated (401) instead of failing the CSRF check (403), and a failed check
    answers in the user's language."""

    def _get_key(self, request: HttpRequest) -> str | None:
        key = request.COOKIES.get(self.param_name)
        if not key:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False):
            if check_csrf(request) is not None:
                raise ApiError(403, "csrf_failed", _("CSRF 校验失败：请刷新页面后重试。"))
        return key

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


bearer_auth = BearerAuth()
django_auth = SessionCookieAuth()
# Bearer first: a request carrying a valid token never needs the session or CSRF.
api_auth = [bearer_auth, django_auth]


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or, only when settings.HEALTHCODE_TRUST_X_FORWARDED_FOR
    is set (behind our own reverse proxy), the last X-Forwarded-For entry, which that proxy
    appended and the client cannot forge."""
    candidate = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "HEALTHCODE_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            candidate = forwarded.split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None
