"""Resident pages (mobile first): my codes, add a code, the code with its live QR, check-in,
and why a code has its colour. Thin doors onto the same services as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import code_for_holder, codes_visible_to
from healthcode.backoffice.auth import has_admin_role
from healthcode.checkins.services import record_checkin
from healthcode.codes import keys, services
from healthcode.codes.forms import CheckInForm, DeclarationForm
from healthcode.codes.qr import qr_svg
from healthcode.enterprises.services import certificate_employments


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def _bind_errors(form: Any, exc: ValidationError) -> None:
    """Show a service's validation errors on the page's form: the form's own checks run
    again for the field errors, then whatever only the service knows (duplicate ID number,
    the family cap) is added."""
    form.is_valid()
    for field, msgs in exc.message_dict.items() if hasattr(exc, "error_dict") else [
        ("__all__", exc.messages)
    ]:
        key = field if field in form.fields else "__all__"
        for message in msgs:
            if message not in form.errors.get(key, []):
                form.add_error(None if key == "__all__" else key, message)


@login_required
def home(request: HttpRequest) -> TemplateResponse:
    codes = [
        services.current(c)
        for c in codes_visible_to(request.user).select_related("district").order_by("created_at")
    ]
    context = {"codes": codes, "is_admin": has_admin_role(request.user)}
    return TemplateResponse(request, "front/home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def add_code(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = DeclarationForm(data=request.POST, account_phone=request.user.phone)
        try:
            code = services.declare(account=request.user, data=request.POST, ip=client_ip(request))
        except ValidationError as exc:
            _bind_errors(form, exc)
        else:
            messages.success(request, _("申领成功。"))
            return redirect("front:code", code_id=code.public_id)
    else:
        form = DeclarationForm(
            account_phone=request.user.phone, initial={"phone": request.user.phone}
        )
    return TemplateResponse(request, "front/add_code.html", {"form": form})


@login_required
def code_page(request: HttpRequest, code_id: str) -> TemplateResponse:
    code = services.current(code_for_holder(request.user, code_id))
    payload, expires_at = keys.issue_token(code)
    context = {
        "code": code,
        "shown": services.present(code),
        "payload": payload,
        "expires_at": expires_at,
        "svg": qr_svg(payload),
        "checked_in_today": code.checkins.filter(day=timezone.localdate()).exists(),
        # The electronic work certificate (电子证): employments while the code is green.
        "employments": certificate_employments(code),
    }
    return TemplateResponse(request, "front/code.html", context)


@login_required
def code_qr(request: HttpRequest, code_id: str) -> JsonResponse:
    """The page's refresh: a fresh token, its SVG and the current colour."""
    code = services.current(code_for_holder(request.user, code_id))
    payload, expires_at = keys.issue_token(code)
    return JsonResponse(
        {
            "payload": payload,
            "expires_at": expires_at.isoformat(),
            "svg": qr_svg(payload),
            "color": code.color,
            "color_label": code.get_color_display(),
        }
    )


@login_required
def why(request: HttpRequest, code_id: str) -> TemplateResponse:
    code = services.current(code_for_holder(request.user, code_id))
    context = {
        "code": code,
        "shown": services.present(code),
        "changes": code.changes.order_by("-at")[:20],
        "checkins": code.checkins.order_by("-day")[:14],
    }
    return TemplateResponse(request, "front/why.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def declaration(request: HttpRequest, code_id: str) -> TemplateResponse:
    """What was declared for this code (我的申报信息). The ID number stays masked unless the
    holder asks to see it (a POST, audited as a view of unmasked data)."""
    code = code_for_holder(request.user, code_id)
    id_number = code.id_number_masked
    if request.method == "POST" and request.POST.get("reveal") == "id_number":
        id_number = services.reveal_id_number(code=code, viewer=request.user, ip=client_ip(request))
    context = {"code": code, "shown": services.present(code), "id_number": id_number,
               "revealed": id_number != code.id_number_masked}
    return TemplateResponse(request, "front/declaration.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def checkin(request: HttpRequest, code_id: str) -> HttpResponse:
    code = code_for_holder(request.user, code_id)
    if request.method == "POST":
        form = CheckInForm(data=request.POST)
        try:
            record_checkin(code=code, actor=request.user, data=request.POST, ip=client_ip(request))
        except ValidationError as exc:
            _bind_errors(form, exc)
        else:
            code.refresh_from_db()
            messages.success(
                request,
                _("打卡成功。当前健康码：%(color)s") % {"color": code.get_color_display()},
            )
            return redirect("front:code", code_id=code.public_id)
    else:
        today = code.checkins.filter(day=timezone.localdate()).first()
        initial = (
            {
                "temperature": today.temperature,
                "symptoms": today.symptoms,
                "in_nanning": today.in_nanning,
                "new_contact": today.new_contact,
            }
            if today
            else {"in_nanning": True, "new_contact": False}
        )
        form = CheckInForm(initial=initial)
    return TemplateResponse(request, "front/checkin.html", {"code": code, "form": form})


@require_POST
def elder(request: HttpRequest) -> HttpResponseRedirect:
    """Switch elder mode (large type) on or off; remembered in a cookie."""
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    response = HttpResponseRedirect(target)
    if request.POST.get("elder") == "1":
        response.set_cookie("elder", "1", max_age=365 * 24 * 3600, samesite="Lax")
    else:
        response.delete_cookie("elder")
    return response
