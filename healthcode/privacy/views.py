"""Pages of the privacy app: deleting one's account on request."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from healthcode.accounts.auth import client_ip
from healthcode.privacy.services import delete_account


@login_required
@require_http_methods(["GET", "POST"])
def delete_account_page(request: HttpRequest) -> HttpResponse:
    """GET: what deletion removes and a confirmation box. POST with `confirm`: delete the
    account (service `delete_account`) and log out; a refusal is shown with status 400."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            errors["confirm"] = [_("请勾选确认框，确认注销账号并删除全部个人信息。")]
        else:
            try:
                delete_account(user=request.user, ip=client_ip(request))
            except ValidationError as exc:
                errors = exc.message_dict
            else:
                logout(request)
                return TemplateResponse(request, "privacy/account_deleted.html", {})
    codes = request.user.health_codes.order_by("created_at")
    return TemplateResponse(
        request,
        "privacy/delete_account.html",
        {"errors": errors, "codes": codes},
        status=400 if errors else 200,
    )
