"""Enterprise pages, the core: my enterprises, register one, and an enterprise's page with
its staff list, the add-employee form, scan permission and co-managers. Thin doors onto
the same services as the API; an enterprise the visitor does not manage is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import enterprise_managed_by, enterprises_managed_by
from healthcode.enterprises import services
from healthcode.enterprises.choices import EnterpriseStatus
from healthcode.enterprises.forms import CoManagerForm, EmployeeForm, EnterpriseForm
from healthcode.enterprises.models import Employee, Enterprise, EnterpriseManager
from healthcode.lib.errors import ApiError


def bind_errors(form: Any, exc: ValidationError) -> None:
    """Show a service's validation errors on a page form, by field (else on the form)."""
    items = exc.message_dict.items() if hasattr(exc, "error_dict") else [("__all__", exc.messages)]
    for field, msgs in items:
        key = field if field in form.fields else None
        for message in msgs:
            if key is None or message not in form.errors.get(key, []):
                form.add_error(key, message)


def _refused(request: HttpRequest, exc: ApiError) -> None:
    messages.error(request, exc.detail)


@login_required
def home(request: HttpRequest) -> TemplateResponse:
    """My enterprises (those I manage) and the register link."""
    enterprises = (
        enterprises_managed_by(request.user)
        .select_related("district")
        .order_by("-created_at", "-pk")
    )
    roles = dict(
        EnterpriseManager.objects.filter(user=request.user).values_list("enterprise_id", "role")
    )
    rows = [(e, roles.get(e.pk)) for e in enterprises]
    return TemplateResponse(request, "enterprises/core_home.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = EnterpriseForm(data=request.POST, account_phone=request.user.phone)
        form.is_valid()
        try:
            enterprise = services.register_enterprise(
                actor=request.user, data=request.POST, ip=client_ip(request)
            )
        except ValidationError as exc:
            bind_errors(form, exc)
        else:
            messages.success(request, _("企业已提交注册，等待所在城区或行业主管部门审核。"))
            return redirect("enterprises:detail", enterprise_id=enterprise.pk)
    else:
        form = EnterpriseForm(account_phone=request.user.phone)
    return TemplateResponse(request, "enterprises/core_register.html", {"form": form})


def _detail_context(
    request: HttpRequest,
    enterprise: Enterprise,
    *,
    employee_form: EmployeeForm | None = None,
    co_manager_form: CoManagerForm | None = None,
) -> dict[str, Any]:
    role = (
        EnterpriseManager.objects.filter(enterprise=enterprise, user=request.user)
        .values_list("role", flat=True)
        .first()
    )
    employees = (
        enterprise.employees.filter(active=True).select_related("code").order_by("name", "pk")
    )
    return {
        "enterprise": enterprise,
        "shown": services.present_enterprise(enterprise, role=role),
        "role": role,
        "is_owner": role == "owner",
        "approved": enterprise.status == EnterpriseStatus.APPROVED,
        "employees": [services.present_employee(e, full_phone=True) for e in employees],
        "managers": enterprise.managers.select_related("user").order_by("added_at", "pk"),
        "employee_form": employee_form or EmployeeForm(),
        "co_manager_form": co_manager_form or CoManagerForm(auto_id="co_manager_%s"),
    }


@login_required
def detail(request: HttpRequest, enterprise_id: int) -> TemplateResponse:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    return TemplateResponse(
        request, "enterprises/core_detail.html", _detail_context(request, enterprise)
    )


@login_required
@require_POST
def add_employee(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    form = EmployeeForm(data=request.POST)
    form.is_valid()
    try:
        _, status = services.add_employee(
            actor=request.user, enterprise=enterprise, data=request.POST, ip=client_ip(request)
        )
    except ValidationError as exc:
        bind_errors(form, exc)
    except ApiError as exc:
        _refused(request, exc)
        return redirect("enterprises:detail", enterprise_id=enterprise.pk)
    else:
        messages.success(request, services.status_message(status))
        return redirect("enterprises:detail", enterprise_id=enterprise.pk)
    # Like the resident pages: the form comes back with its errors (200).
    context = _detail_context(request, enterprise, employee_form=form)
    return TemplateResponse(request, "enterprises/core_detail.html", context)


def _employee(request: HttpRequest, enterprise_id: int, employee_id: int) -> Employee:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    return get_object_or_404(
        Employee.objects.select_related("enterprise", "code"), pk=employee_id, enterprise=enterprise
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_employee(request: HttpRequest, enterprise_id: int, employee_id: int) -> HttpResponse:
    employee = _employee(request, enterprise_id, employee_id)
    if request.method == "POST":
        form = EmployeeForm(data=request.POST)
        form.is_valid()
        try:
            services.update_employee(
                actor=request.user, employee=employee, data=request.POST, ip=client_ip(request)
            )
        except ValidationError as exc:
            bind_errors(form, exc)
        except ApiError as exc:
            _refused(request, exc)
            return redirect("enterprises:detail", enterprise_id=employee.enterprise_id)
        else:
            messages.success(request, _("员工信息已保存。"))
            return redirect("enterprises:detail", enterprise_id=employee.enterprise_id)
    else:
        form = EmployeeForm(
            initial={
                "name": employee.name,
                "phone": employee.phone,
                "department_name": employee.department_name,
                "returned_to_work": employee.returned_to_work,
                "returned_on": employee.returned_on,
            }
        )
    context = {"enterprise": employee.enterprise, "employee": employee, "form": form}
    return TemplateResponse(request, "enterprises/core_employee.html", context)


@login_required
@require_POST
def deactivate_employee(request: HttpRequest, enterprise_id: int, employee_id: int) -> HttpResponse:
    employee = _employee(request, enterprise_id, employee_id)
    try:
        services.deactivate_employee(actor=request.user, employee=employee, ip=client_ip(request))
    except ApiError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("%(name)s 已移除。") % {"name": employee.name})
    return redirect("enterprises:detail", enterprise_id=employee.enterprise_id)


@login_required
@require_POST
def scan_permission(request: HttpRequest, enterprise_id: int, employee_id: int) -> HttpResponse:
    employee = _employee(request, enterprise_id, employee_id)
    allowed = request.POST.get("allowed") == "1"
    try:
        services.set_scan_permission(
            actor=request.user, employee=employee, allowed=allowed, ip=client_ip(request)
        )
    except ApiError as exc:
        _refused(request, exc)
    else:
        text = _("已授予 %(name)s 扫码权限。") if allowed else _("已收回 %(name)s 的扫码权限。")
        messages.success(request, text % {"name": employee.name})
    return redirect("enterprises:detail", enterprise_id=employee.enterprise_id)


@login_required
@require_POST
def co_managers(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """Add (action=add) or remove (action=remove) a co-manager by phone."""
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    form = CoManagerForm(data=request.POST, auto_id="co_manager_%s")
    form.is_valid()
    remove = request.POST.get("action") == "remove"
    try:
        if remove:
            services.remove_co_manager(
                actor=request.user,
                enterprise=enterprise,
                phone=request.POST.get("phone", ""),
                ip=client_ip(request),
            )
        else:
            services.add_co_manager(
                actor=request.user,
                enterprise=enterprise,
                phone=request.POST.get("phone", ""),
                ip=client_ip(request),
            )
    except ValidationError as exc:
        bind_errors(form, exc)
    except ApiError as exc:
        # A co-manager can see the enterprise but not manage co-managers: say so (403).
        context = _detail_context(request, enterprise)
        context["co_manager_refusal"] = exc.detail
        return TemplateResponse(request, "enterprises/core_detail.html", context, status=exc.status)
    else:
        messages.success(request, _("协管员已移除。") if remove else _("协管员已添加。"))
        return redirect("enterprises:detail", enterprise_id=enterprise.pk)
    context = _detail_context(request, enterprise, co_manager_form=form)
    return TemplateResponse(request, "enterprises/core_detail.html", context)


urlpatterns = [
    path("", home, name="home"),
    path("register", register, name="register"),
    path("<int:enterprise_id>/", detail, name="detail"),
    path("<int:enterprise_id>/employees/add", add_employee, name="add_employee"),
    path(
        "<int:enterprise_id>/employees/<int:employee_id>/edit", edit_employee, name="edit_employee"
    ),
    path(
        "<int:enterprise_id>/employees/<int:employee_id>/deactivate",
        deactivate_employee,
        name="deactivate_employee",
    ),
    path(
        "<int:enterprise_id>/employees/<int:employee_id>/scan-permission",
        scan_permission,
        name="scan_permission",
    ),
    path("<int:enterprise_id>/managers", co_managers, name="co_managers"),
]
