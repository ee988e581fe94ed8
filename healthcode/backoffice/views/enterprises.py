"""Back-office pages (the management system grows here). For now: the queue of enterprises
waiting for approval in the admin's scope, with approve/reject. Accounts that oversee no
enterprises (residents, reviewers, enterprise managers) get 404, as in the API: the back
office does not exist for them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import (
    enterprise_in_scope,
    enterprises_in_scope,
    oversees_enterprises,
)
from healthcode.enterprises import services as enterprise_services
from healthcode.enterprises.choices import EnterpriseStatus
from healthcode.lib.errors import ApiError


def _require_enterprise_admin(request: HttpRequest) -> None:
    if not oversees_enterprises(request.user):
        raise PermissionDenied(_("仅市、城区（开发区）和行业主管部门管理员可以使用此功能。"))


@login_required
def enterprises(request: HttpRequest) -> TemplateResponse:
    """Pending enterprises in the admin's scope, oldest first, and the latest decisions."""
    _require_enterprise_admin(request)
    scope = enterprises_in_scope(request.user).select_related("district")
    pending = [
        enterprise_services.present_enterprise(e)
        for e in scope.filter(status=EnterpriseStatus.PENDING).order_by("created_at", "pk")
    ]
    decided = scope.exclude(status=EnterpriseStatus.PENDING).order_by("-decided_at", "-pk")[:20]
    context = {"pending": pending, "decided": decided}
    return TemplateResponse(request, "backoffice/enterprises.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """Approve (decision=approve) or reject (decision=reject, with a note)."""
    _require_enterprise_admin(request)
    enterprise = enterprise_in_scope(request.user, enterprise_id)
    approve = request.POST.get("decision") == "approve"
    try:
        enterprise_services.decide_enterprise(
            actor=request.user,
            enterprise=enterprise,
            approve=approve,
            note=request.POST.get("note", ""),
            ip=client_ip(request),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"{enterprise.name}：{message}")
    except ApiError as exc:
        messages.error(request, f"{enterprise.name}：{exc.detail}")
    else:
        text = _("已通过：%(name)s") if approve else _("未通过：%(name)s")
        messages.success(request, text % {"name": enterprise.name})
    return redirect("backoffice:enterprises")


urlpatterns = [
    path("enterprises", enterprises, name="enterprises"),
    path("enterprises/<int:enterprise_id>/decision", decide, name="decide_enterprise"),
]
