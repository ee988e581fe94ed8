"""API of the enterprise core (/api/v1/enterprises): register, my enterprises, approval by
admins in scope, co-managers, employees and scan permission.

Who gets what:
- an enterprise the caller neither manages nor oversees (another enterprise's manager, a
  scanner or plain employee of it, a resident) → 404: it does not exist for them;
- reads of one enterprise and its staff list: its managers (full phones: their own staff)
  and admins whose scope includes it (phones masked);
- writes on employees and scan permission: its managers and co-managers; on co-managers:
  the owner only — a co-manager, who can see the enterprise, gets 403 (owner_only);
- employees of an enterprise not approved yet → 403 (enterprise_not_approved);
- the pending queue and decisions: admins in scope; anyone else 404; an admin deciding an
  enterprise they manage themselves → 403 (own_enterprise).
"""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import (
    enterprise_in_scope,
    enterprise_managed_by,
    enterprises_in_scope,
    enterprises_managed_by,
    require_oversight,
)
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.enterprises import services
from healthcode.enterprises.choices import EnterpriseStatus
from healthcode.enterprises.models import Employee, Enterprise, EnterpriseManager
from healthcode.lib.masking import mask_phone

router = Router()


# --- Schemas --------------------------------------------------------------------------------


class EnterpriseIn(Schema):
    """Registering an enterprise. Validation messages name the field and the rule."""

    name: str
    credit_code: str = Field(description="unified social credit code, 18 characters (GB 32100)")
    district: str = Field(
        description="6-digit code of a Nanning district/county or development zone"
    )
    industry: str = Field(description="GB/T 4754 section letter A–T")
    address: str
    contact_name: str
    contact_phone: str | None = Field(None, description="defaults to the account's phone")


class ManagerOut(Schema):
    phone: str = Field(description="full for the enterprise's managers, masked for admins")
    role: str = Field(description="owner | co_manager")
    added_at: datetime


class EnterpriseOut(Schema):
    id: int
    name: str
    credit_code: str
    district: str
    district_name: str
    industry: str
    industry_name: str
    department: str = Field(description="supervising department's code, from the industry")
    department_name: str
    address: str
    contact_name: str
    contact_phone: str
    status: str = Field(description="pending | approved | rejected")
    status_label: str
    decision_note: str
    decided_at: datetime | None = None
    created_at: datetime
    my_role: str | None = Field(None, description="owner | co_manager | null (an admin)")


class EnterpriseDetailOut(EnterpriseOut):
    managers: list[ManagerOut]


class DecisionIn(Schema):
    approve: bool
    note: str = Field("", description="required when rejecting; at most 200 characters")


class CoManagerIn(Schema):
    phone: str = Field(description="the phone of an existing account")


class EmployeeIn(Schema):
    name: str = Field(description="as on the person's health code")
    phone: str = Field(description="the phone the person registered with")
    department_name: str = ""
    returned_to_work: bool = False
    returned_on: date | None = Field(None, description="required when returned_to_work")


class EmployeePatchIn(Schema):
    """Only the fields given change."""

    name: str | None = None
    phone: str | None = None
    department_name: str | None = None
    returned_to_work: bool | None = None
    returned_on: date | None = None


class EmployeeOut(Schema):
    id: int
    name: str
    phone: str = Field(description="full for the enterprise's managers, masked for admins")
    department_name: str
    returned_to_work: bool
    returned_on: date | None = None
    status: str = Field(description="linked (to the person's health code) | invited")
    color: str | None = Field(None, description="the linked code's colour; null when invited")
    can_scan: bool
    active: bool
    added_at: datetime
    removed_at: datetime | None = None


class EmployeeSavedOut(EmployeeOut):
    detail: str = Field(description="what happened: linked, or kept as an invitation")


class ScanPermissionIn(Schema):
    allowed: bool


# --- Helpers --------------------------------------------------------------------------------


def _role(user: object, enterprise: Enterprise) -> str | None:
    row = EnterpriseManager.objects.filter(enterprise=enterprise, user=user).first()
    return row.role if row else None


def _viewable(request: HttpRequest, enterprise_id: int) -> tuple[Enterprise, str | None]:
    """An enterprise the caller manages (with its role) or oversees as an admin, else 404."""
    enterprise = (
        enterprises_managed_by(request.user)
        .select_related("district")
        .filter(pk=enterprise_id)
        .first()
    )
    if enterprise is not None:
        return enterprise, _role(request.user, enterprise)
    return enterprise_in_scope(request.user, enterprise_id), None


def _employee(enterprise: Enterprise, employee_id: int) -> Employee:
    return get_object_or_404(
        Employee.objects.select_related("code", "enterprise"), pk=employee_id, enterprise=enterprise
    )


def _require_enterprise_admin(user: object) -> None:
    require_oversight(user)


def _saved(employee: Employee, status: str) -> dict:
    return {
        **services.present_employee(employee, full_phone=True),
        "detail": services.status_message(status),
    }


# --- Enterprises ----------------------------------------------------------------------------


@router.post(
    "",
    url_name="enterprises_root",
    response={201: EnterpriseOut, 400: ErrorsOut},
    summary="Register an enterprise (开通企业管理账号); pending until an admin approves it",
)
def register(request: HttpRequest, payload: EnterpriseIn) -> Status:
    data = payload.dict()
    data["contact_phone"] = data.get("contact_phone") or ""
    enterprise = services.register_enterprise(actor=request.user, data=data, ip=client_ip(request))
    return Status(201, services.present_enterprise(enterprise, role="owner"))


@router.get("", response=list[EnterpriseOut], summary="The enterprises I manage, with their status")
def my_enterprises(request: HttpRequest) -> list[dict]:
    enterprises = enterprises_managed_by(request.user).order_by("-created_at", "-pk")
    roles = dict(
        EnterpriseManager.objects.filter(user=request.user).values_list("enterprise_id", "role")
    )
    return [services.present_enterprise(e, role=roles.get(e.pk)) for e in enterprises]


# Before "/{id}" so that "pending" is never read as an id (ids are ints anyway).
@router.get(
    "/pending",
    response={200: list[EnterpriseOut], 404: ErrorOut},
    summary="Enterprises waiting for approval in the admin's scope (admins only; 404 otherwise)",
)
def pending(request: HttpRequest) -> list[dict]:
    _require_enterprise_admin(request.user)
    enterprises = enterprises_in_scope(request.user).filter(status=EnterpriseStatus.PENDING)
    return [services.present_enterprise(e) for e in enterprises.order_by("created_at", "pk")]


@router.get(
    "/{int:enterprise_id}",
    response={200: EnterpriseDetailOut, 404: ErrorOut},
    summary="One enterprise: for its managers and for admins in scope",
)
def get_enterprise(request: HttpRequest, enterprise_id: int) -> dict:
    enterprise, role = _viewable(request, enterprise_id)
    managers = enterprise.managers.select_related("user").order_by("added_at", "pk")
    return {
        **services.present_enterprise(enterprise, role=role),
        "managers": [
            {
                "phone": m.user.phone if role else mask_phone(m.user.phone),
                "role": m.role,
                "added_at": m.added_at,
            }
            for m in managers
        ],
    }


@router.post(
    "/{int:enterprise_id}/decision",
    response={200: EnterpriseOut, 400: ErrorsOut | ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Approve or reject a pending enterprise (admins whose scope includes it, "
    "not one they manage themselves: 403)",
)
def decide(request: HttpRequest, enterprise_id: int, payload: DecisionIn) -> dict:
    enterprise = enterprise_in_scope(request.user, enterprise_id)
    enterprise = services.decide_enterprise(
        actor=request.user,
        enterprise=enterprise,
        approve=payload.approve,
        note=payload.note,
        ip=client_ip(request),
    )
    return services.present_enterprise(enterprise)


# --- Co-managers ----------------------------------------------------------------------------


@router.post(
    "/{int:enterprise_id}/managers",
    response={201: ManagerOut, 400: ErrorsOut, 403: ErrorOut, 404: ErrorOut},
    summary="Add a co-manager by phone (the owner only)",
)
def add_manager(request: HttpRequest, enterprise_id: int, payload: CoManagerIn) -> Status:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    manager = services.add_co_manager(
        actor=request.user, enterprise=enterprise, phone=payload.phone, ip=client_ip(request)
    )
    return Status(
        201, {"phone": manager.user.phone, "role": manager.role, "added_at": manager.added_at}
    )


@router.delete(
    "/{int:enterprise_id}/managers",
    response={204: None, 400: ErrorsOut, 403: ErrorOut, 404: ErrorOut},
    summary="Remove a co-manager by phone (the owner only)",
)
def remove_manager(request: HttpRequest, enterprise_id: int, payload: CoManagerIn) -> Status:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    services.remove_co_manager(
        actor=request.user, enterprise=enterprise, phone=payload.phone, ip=client_ip(request)
    )
    return Status(204, None)


# --- Employees ------------------------------------------------------------------------------


@router.get(
    "/{int:enterprise_id}/employees",
    response={200: list[EmployeeOut], 404: ErrorOut},
    summary="The staff list (active only unless include_inactive); full phones for managers",
)
def list_employees(
    request: HttpRequest, enterprise_id: int, include_inactive: bool = False
) -> list[dict]:
    enterprise, role = _viewable(request, enterprise_id)
    employees = enterprise.employees.select_related("code").order_by("-active", "name", "pk")
    if not include_inactive:
        employees = employees.filter(active=True)
    return [services.present_employee(e, full_phone=role is not None) for e in employees]


@router.post(
    "/{int:enterprise_id}/employees",
    response={201: EmployeeSavedOut, 400: ErrorsOut, 403: ErrorOut, 404: ErrorOut},
    summary="Add an employee by name + phone: linked to their code, or kept as an invitation",
)
def add_employee(request: HttpRequest, enterprise_id: int, payload: EmployeeIn) -> Status:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    employee, status = services.add_employee(
        actor=request.user, enterprise=enterprise, data=payload.dict(), ip=client_ip(request)
    )
    return Status(201, _saved(employee, status))


@router.patch(
    "/{int:enterprise_id}/employees/{int:employee_id}",
    response={200: EmployeeSavedOut, 400: ErrorsOut | ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change an employee's details (only the fields given)",
)
def update_employee(
    request: HttpRequest, enterprise_id: int, employee_id: int, payload: EmployeePatchIn
) -> dict:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    employee, status = services.update_employee(
        actor=request.user,
        employee=_employee(enterprise, employee_id),
        data=payload.dict(exclude_unset=True),
        ip=client_ip(request),
    )
    return _saved(employee, status)


@router.post(
    "/{int:enterprise_id}/employees/{int:employee_id}/deactivate",
    response={200: EmployeeOut, 400: ErrorOut, 404: ErrorOut},
    summary="An employee leaves (离职/移除): inactive, scan permission revoked",
)
def deactivate_employee(request: HttpRequest, enterprise_id: int, employee_id: int) -> dict:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    employee = services.deactivate_employee(
        actor=request.user, employee=_employee(enterprise, employee_id), ip=client_ip(request)
    )
    return services.present_employee(employee, full_phone=True)


@router.post(
    "/{int:enterprise_id}/employees/{int:employee_id}/scan-permission",
    response={200: EmployeeOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Grant or revoke an employee's scan permission (企业扫码人员权限)",
)
def scan_permission(
    request: HttpRequest, enterprise_id: int, employee_id: int, payload: ScanPermissionIn
) -> dict:
    enterprise = enterprise_managed_by(request.user, enterprise_id)
    employee = services.set_scan_permission(
        actor=request.user,
        employee=_employee(enterprise, employee_id),
        allowed=payload.allowed,
        ip=client_ip(request),
    )
    return services.present_employee(employee, full_phone=True)
