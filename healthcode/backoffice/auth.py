"""Authentication of the back office (管理系统): a password AND a second factor (an SMS code)
before any back-office page or `/api/v1/admin/...` call, and an admin role in force.

- Pages: `@backoffice_required` — a logged-in session that passed the back-office login
  (`mark_backoffice_verified`) within HEALTHCODE_BACKOFFICE_SESSION_HOURS; otherwise a
  redirect to the back-office login page; an account without a role in force gets 403.
- API: `admin_auth` — a back-office bearer token (scope "backoffice", issued by the
  back-office token call after password + code) or such a verified session (with CSRF).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from healthcode.accounts.auth import SessionCookieAuth
from healthcode.accounts.models import TokenScope
from healthcode.accounts.permissions import admin_roles
from healthcode.accounts.services import user_for_token
from healthcode.lib.errors import ApiError

SESSION_KEY = "backoffice_verified_at"


def has_admin_role(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or admin_roles(user).exists()


def mark_backoffice_verified(request: HttpRequest) -> None:
    """Called by the back-office login once password and second factor both passed."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = timezone.now().isoformat()


def is_backoffice_verified(request: HttpRequest) -> bool:
    stamp = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if not stamp:
        return False
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        return False
    return timezone.now() - at < timedelta(hours=settings.HEALTHCODE_BACKOFFICE_SESSION_HOURS)


def backoffice_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or not is_backoffice_verified(request):
            return redirect_to_login(request.get_full_path(), reverse("backoffice:login"))
        if not has_admin_role(user):
            raise PermissionDenied(_("您没有管理系统的角色。"))
        return view(request, *args, **kwargs)

    return wrapped


class BackofficeBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token.strip(), scope=TokenScope.BACKOFFICE)
        if user is None:
            return None
        request.user = user
        request.bearer_token = token.strip()  # type: ignore[attr-defined]
        _require_role(user)
        return user


class BackofficeSession(SessionCookieAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or not is_backoffice_verified(request):
            return None
        _require_role(user)
        return user


def _require_role(user: Any) -> None:
    if not has_admin_role(user):
        raise ApiError(403, "not_an_admin", _("您没有管理系统的角色。"))


admin_auth = [BackofficeBearer(), BackofficeSession()]
