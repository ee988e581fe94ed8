"""The JSON API, version 1 (SPEC §9): one NinjaAPI with each app's router, and error
handlers that give `{"errors": {field: [message]}}` (400) or `{"error", "detail"}`."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from healthcode.accounts.api import router as auth_router
from healthcode.appeals.api import router as appeals_router
from healthcode.backoffice.api import router as admin_router
from healthcode.checkins.api import router as checkins_router
from healthcode.codes.api import router as codes_router
from healthcode.credit.api import router as credit_router
from healthcode.enterprises.api import router as enterprises_router
from healthcode.lib.errors import ApiError
from healthcode.notifications.api import router as notifications_router
from healthcode.privacy.api import router as privacy_router

api = NinjaAPI(
    title="爱南宁健康码 API",
    version="1",
    description="The health-code platform's JSON API (SPEC §9). Messages follow Accept-Language.",
    urls_namespace="api",
    openapi_url="schema",
    docs_url="docs",
)
api.add_router("", auth_router)
api.add_router("", codes_router)
api.add_router("", checkins_router)
api.add_router("/enterprises", enterprises_router)
api.add_router("/admin", admin_router)
api.add_router("", notifications_router)
api.add_router("", appeals_router)
api.add_router("", credit_router)
api.add_router("", privacy_router)


def _type_message(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return _("此字段为必填项。")
    if kind.startswith("bool"):
        return _("应为布尔值（true 或 false）。")
    if kind.startswith(("int", "float", "decimal")):
        return _("应为数字。")
    if kind.startswith("date"):
        return _("应为日期，格式 YYYY-MM-DD。")
    if kind.startswith(("list", "tuple", "set")):
        return _("应为列表。")
    if kind.startswith("string"):
        return _("应为字符串。")
    if kind == "json_invalid":
        return _("请求体不是有效的 JSON。")
    return _("格式不正确。")


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        field = loc[0] if loc else "__all__"
        errors.setdefault(field, []).append(_type_message(error))
    return api.create_response(request, {"errors": errors}, status=400)


@api.exception_handler(DjangoValidationError)
def on_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    return api.create_response(request, {"errors": errors}, status=400)


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = api.create_response(
        request, {"error": exc.code, "detail": exc.detail}, status=exc.status
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"error": "not_found", "detail": _("未找到。")}, status=404)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"error": "unauthorized", "detail": _("请先登录。")}, status=401
    )


@api.exception_handler(Throttled)
def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return api.create_response(
        request, {"error": "throttled", "detail": _("请求过于频繁，请稍后再试。")}, status=429
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(
        request, {"error": "http_error", "detail": str(exc)}, status=exc.status_code
    )
