"""API for appeals (申诉) — a thin door onto healthcode.appeals.services, like the pages.

Residents (api_auth):
- `POST /codes/{code_id}/appeals` (multipart: `subject`, `text`, `record_id`, `attachments`
  up to 5 JPEG/PNG/WebP images of ≤ 5 MB): 201 with the appeal; a code the caller does not
  hold → 404; bad input → 400 naming the field; an open appeal on the same matter → 409;
- `GET /appeals`: the caller's appeals; `GET /appeals/{id}`: one of them (404 otherwise).

Authorities (admin_auth: reviewers, district admins, city admins; industry admins get 403
`not_a_reviewer`, accounts without an admin role 403 `not_an_admin`, anonymous 401):
- `GET /admin/appeals?status=&mine=`: appeals in scope (open ones first, nearest deadline first);
- `GET /admin/appeals/{id}`: one in scope (404 otherwise);
- `POST /admin/appeals/{id}/start`: take it up (submitted → in_review);
- `POST /admin/appeals/{id}/decision` `{"upheld": bool, "note"}`: uphold or dismiss;
- `GET /admin/appeals/{id}/attachments/{n}`: an attached image (scope checked, audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from healthcode.accounts.auth import api_auth, client_ip
from healthcode.accounts.permissions import code_for_holder
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.appeals import services
from healthcode.appeals.choices import OPEN_STATUSES
from healthcode.backoffice.auth import admin_auth
from healthcode.codes import reviews

router = Router(tags=["appeals"])

ERRORS = {400: ErrorsOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class AttachmentOut(Schema):
    number: int
    name: str
    content_type: str
    size: int
    sha256: str


class AppealOut(Schema):
    id: int
    code: str
    code_name: str
    code_color: str
    subject: str
    subject_label: str
    record_id: int | None = None
    text: str
    status: str
    status_label: str
    deadline: datetime
    overdue: bool
    submitted_at: datetime
    decided_at: datetime | None = None
    outcome_note: str
    attachments: list[AttachmentOut]


class StaffAppealOut(AppealOut):
    district: str
    assigned_to: str
    assigned_to_id: int | None = None
    decided_by: str
    outcome: dict[str, Any]


class AppealListOut(Schema):
    count: int
    results: list[AppealOut]


class StaffAppealListOut(Schema):
    count: int
    results: list[StaffAppealOut]


class StaffFilter(Schema):
    status: Literal["", "open", "submitted", "in_review", "upheld", "dismissed"] = ""
    mine: bool = Field(False, description="only the appeals assigned to the caller")


class DecisionIn(Schema):
    upheld: bool
    note: str = Field("", max_length=2000)


# --- Residents ------------------------------------------------------------------------------


@router.post(
    "/codes/{code_id}/appeals", auth=api_auth, response={201: AppealOut, **ERRORS}
)
def submit(
    request: HttpRequest,
    code_id: str,
    subject: Form[str],
    text: Form[str] = "",
    record_id: Form[int | None] = None,
    attachments: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> Any:
    code = code_for_holder(request.auth, code_id)
    appeal = services.submit_appeal(
        account=request.auth,
        code=code,
        subject=subject,
        text=text,
        files=attachments or [],
        record_id=record_id,
        ip=client_ip(request),
    )
    return Status(201, services.present(appeal))


@router.get("/appeals", auth=api_auth, response={200: AppealListOut, **ERRORS})
def my_appeals(request: HttpRequest) -> Any:
    appeals = services.appeals_of(request.auth).select_related("code")
    results = [services.present(a) for a in appeals]
    return {"count": len(results), "results": results}


@router.get("/appeals/{appeal_id}", auth=api_auth, response={200: AppealOut, **ERRORS})
def my_appeal(request: HttpRequest, appeal_id: str) -> Any:
    return services.present(services.appeal_of(request.auth, appeal_id))


# --- Authorities ----------------------------------------------------------------------------


def _staff_appeal(request: HttpRequest, appeal_id: str) -> Any:
    reviews.require_reviewer(request.auth)
    return services.appeal_in_scope(request.auth, appeal_id)


@router.get(
    "/admin/appeals",
    auth=admin_auth,
    response={200: StaffAppealListOut, **ERRORS},
    tags=["admin: appeals"],
)
def staff_appeals(request: HttpRequest, filters: Query[StaffFilter]) -> Any:
    reviews.require_reviewer(request.auth)
    appeals = services.appeals_in_scope(request.auth).select_related(
        "code", "assigned_to", "decided_by"
    )
    if filters.status == "open":
        appeals = appeals.filter(status__in=OPEN_STATUSES)
    elif filters.status:
        appeals = appeals.filter(status=filters.status)
    if filters.mine:
        appeals = appeals.filter(assigned_to=request.auth)
    results = [services.present(a, for_staff=True) for a in services.queue_order(appeals)]
    return {"count": len(results), "results": results}


@router.get(
    "/admin/appeals/{appeal_id}",
    auth=admin_auth,
    response={200: StaffAppealOut, **ERRORS},
    tags=["admin: appeals"],
)
def staff_appeal(request: HttpRequest, appeal_id: str) -> Any:
    return services.present(_staff_appeal(request, appeal_id), for_staff=True)


@router.post(
    "/admin/appeals/{appeal_id}/start",
    auth=admin_auth,
    response={200: StaffAppealOut, **ERRORS},
    tags=["admin: appeals"],
)
def staff_start(request: HttpRequest, appeal_id: str) -> Any:
    appeal = services.start_review(
        reviewer=request.auth, appeal=_staff_appeal(request, appeal_id), ip=client_ip(request)
    )
    return services.present(appeal, for_staff=True)


@router.post(
    "/admin/appeals/{appeal_id}/decision",
    auth=admin_auth,
    response={200: StaffAppealOut, **ERRORS},
    tags=["admin: appeals"],
)
def staff_decide(request: HttpRequest, appeal_id: str, body: DecisionIn) -> Any:
    appeal = services.decide_appeal(
        reviewer=request.auth,
        appeal=_staff_appeal(request, appeal_id),
        upheld=body.upheld,
        note=body.note,
        ip=client_ip(request),
    )
    return services.present(appeal, for_staff=True)


@router.get(
    "/admin/appeals/{appeal_id}/attachments/{number}",
    auth=admin_auth,
    response={200: None, **ERRORS},
    tags=["admin: appeals"],
)
def staff_attachment(request: HttpRequest, appeal_id: str, number: str) -> Any:
    appeal = _staff_appeal(request, appeal_id)
    attachment = services.attachment_of(appeal, number)
    services.audit_attachment_view(
        viewer=request.auth, attachment=attachment, ip=client_ip(request)
    )
    return services.attachment_response(attachment)

