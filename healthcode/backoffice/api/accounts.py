"""Back-office accounts in the API (/api/v1/admin/...):

- `POST /auth/otp` {"phone", "password"}: sends the SMS code only after a right password;
  `POST /auth/token` {"phone", "password", "code"}: a back-office token (scope "backoffice")
  when the password and the code are right and the account has a role in force. Both need
  no prior authentication (auth=None). Wrong password or unknown phone: 400 on "password"
  with the same message; too many: 429 `login_locked`; no role: 403 `not_an_admin`.
- `GET /me`: the account's roles.
- `POST /applications`, `GET /applications/mine`: any logged-in account (a resident token
  or session) applies and sees its own applications.
- `GET /applications`, `GET /applications/{id}`, `POST /applications/{id}/decision`: city
  admins (all) and district admins (applications for their district; may decide reviewers
  only, else 403 `city_admin_only`); industry admins and reviewers 403 `not_an_approver`;
  an application outside the approver's scope 404.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from healthcode.accounts.api import DetailOut
from healthcode.accounts.auth import api_auth, client_ip
from healthcode.accounts.models import TokenScope
from healthcode.accounts.permissions import admin_roles
from healthcode.accounts.services import code_sent_message, create_api_token
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.backoffice import applications as service
from healthcode.backoffice.choices import ApplicationStatus
from healthcode.lib.masking import mask_phone

router = Router()


# --- Schemas --------------------------------------------------------------------------------


class AdminOtpIn(Schema):
    phone: str = Field(examples=["13800138000"])
    password: str


class AdminTokenIn(Schema):
    phone: str = Field(examples=["13800138000"])
    password: str
    code: str = Field(description="the 6-digit code from the SMS sent by POST /admin/auth/otp")


class AdminTokenOut(Schema):
    token: str = Field(description="Send as `Authorization: Bearer <token>` to /api/v1/admin/…")
    expires_at: datetime


class RoleOut(Schema):
    id: int
    kind: str = Field(description="city_admin | district_admin | industry_admin | reviewer")
    kind_label: str
    district: str | None
    department: str
    scope_label: str
    organisation: str
    granted_at: datetime


class MeOut(Schema):
    phone: str = Field(description="masked")
    is_superuser: bool
    roles: list[RoleOut]


class ApplicationIn(Schema):
    organisation: str = ""
    position: str = ""
    kind: str = Field("", description="city_admin | district_admin | industry_admin | reviewer")
    district: str = Field("", description="district_admin and reviewer: a Nanning district code")
    department: str = Field("", description="industry_admin: a department code, e.g. gxj")
    reason: str = ""
    password: str = Field(
        "", description="the back-office password, checked by the password validators"
    )


class ApplicationOut(Schema):
    id: int
    applicant: str = Field(description="masked phone")
    organisation: str
    position: str
    kind: str
    kind_label: str
    district: str | None
    department: str
    scope_label: str
    reason: str
    status: str = Field(description="pending | approved | rejected")
    status_label: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str = Field(description="masked phone of the approver")
    decision_note: str


class ApplicationListOut(Schema):
    total: int
    offset: int
    limit: int
    items: list[ApplicationOut]


class ApplicationQuery(Schema):
    status: ApplicationStatus | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class ApplicationDecisionIn(Schema):
    approve: bool
    note: str = Field("", description="required when rejecting; at most 200 characters")


# --- Login ----------------------------------------------------------------------------------


@router.post(
    "/auth/otp",
    auth=None,
    response={202: DetailOut, 400: ErrorsOut, 403: ErrorOut, 429: ErrorOut},
    summary="Back-office login, step 1: password, then the SMS code is sent",
)
def send_code(request: HttpRequest, payload: AdminOtpIn) -> Status:
    service.send_login_code(phone=payload.phone, password=payload.password, ip=client_ip(request))
    return Status(202, {"detail": code_sent_message()})


@router.post(
    "/auth/token",
    auth=None,
    response={200: AdminTokenOut, 400: ErrorsOut, 403: ErrorOut, 429: ErrorOut},
    summary="Back-office login, step 2: password and SMS code for a back-office token",
)
def obtain_token(request: HttpRequest, payload: AdminTokenIn) -> dict:
    user = service.backoffice_login(
        phone=payload.phone, password=payload.password, code=payload.code, ip=client_ip(request)
    )
    issued = create_api_token(user=user, scope=TokenScope.BACKOFFICE)
    return {"token": issued.raw, "expires_at": issued.expires_at}


@router.get("/me", response={200: MeOut, 401: ErrorOut, 403: ErrorOut}, summary="My roles")
def me(request: HttpRequest) -> dict:
    roles = admin_roles(request.user).order_by("granted_at", "pk")
    return {
        "phone": mask_phone(request.user.phone),
        "is_superuser": request.user.is_superuser,
        "roles": [service.present_role(r) for r in roles],
    }


# --- Applying -------------------------------------------------------------------------------


@router.post(
    "/applications",
    auth=api_auth,
    response={201: ApplicationOut, 400: ErrorsOut, 401: ErrorOut},
    summary="Apply for a back-office account (any logged-in account)",
)
def apply(request: HttpRequest, payload: ApplicationIn) -> Status:
    application = service.submit_application(
        applicant=request.user, data=payload.dict(), ip=client_ip(request)
    )
    return Status(201, service.present_application(application))


@router.get(
    "/applications/mine",
    auth=api_auth,
    response={200: list[ApplicationOut], 401: ErrorOut},
    summary="My applications and their status, newest first",
)
def my_applications(request: HttpRequest) -> list[dict]:
    mine = service.applications_of(request.user).order_by("-created_at", "-pk")
    return [service.present_application(a) for a in mine]


# --- Approving ------------------------------------------------------------------------------


@router.get(
    "/applications",
    response={200: ApplicationListOut, 400: ErrorsOut, 401: ErrorOut, 403: ErrorOut},
    summary="Applications in the approver's scope (pending first by age, then the others)",
)
def list_applications(request: HttpRequest, filters: Query[ApplicationQuery]) -> dict:
    service.require_approver(request.user)
    scope = service.applications_in_scope(request.user).select_related("applicant", "decided_by")
    if filters.status:
        scope = scope.filter(status=filters.status)
    page = scope.order_by("created_at", "pk")[filters.offset : filters.offset + filters.limit]
    return {
        "total": scope.count(),
        "offset": filters.offset,
        "limit": filters.limit,
        "items": [service.present_application(a) for a in page],
    }


@router.get(
    "/applications/{int:application_id}",
    response={200: ApplicationOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="One application in the approver's scope",
)
def get_application(request: HttpRequest, application_id: int) -> dict:
    service.require_approver(request.user)
    return service.present_application(service.application_in_scope(request.user, application_id))


@router.post(
    "/applications/{int:application_id}/decision",
    response={
        200: ApplicationOut,
        400: ErrorsOut | ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="Approve (the account's role is generated) or reject (with a note)",
)
def decide(request: HttpRequest, application_id: int, payload: ApplicationDecisionIn) -> dict:
    service.require_approver(request.user)
    application = service.application_in_scope(request.user, application_id)
    application = service.decide_application(
        actor=request.user,
        application=application,
        approve=payload.approve,
        note=payload.note,
        ip=client_ip(request),
    )
    return service.present_application(application)
