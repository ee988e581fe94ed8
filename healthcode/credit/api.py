"""API of dishonesty records (失信信息), a thin door onto healthcode.credit.services:

Back office (`auth=admin_auth`; reviewers, district admins and city admins — industry admins
403 `not_a_reviewer`, accounts without an admin role 403 `not_an_admin`, anonymous 401;
records and codes outside the caller's scope 404):

- `GET /admin/credit/records?status=`: records in scope (masked ID numbers);
- `POST /admin/credit/records` `{"code", "what", "fields", "evidence", "legal_basis"}`: flag a
  declaration as false (201);
- `POST /admin/credit/records/{id}/confirm` `{"approve"}`: the second official's decision
  (403 `four_eyes` for the one who flagged it);
- `POST /admin/credit/records/{id}/withdraw` `{"reason"}`;
- `GET /admin/credit/outbox?status=`: outbox messages in scope (failed deliveries visible);
- `POST /admin/credit/outbox/{id}/retry`: send a failed message again (city admins).

Residents (`auth=api_auth`): `GET /me/credit-records`: the records of the codes they hold,
with the appeal deadline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from healthcode.accounts.auth import api_auth, client_ip
from healthcode.accounts.permissions import code_in_scope
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.backoffice.auth import admin_auth
from healthcode.codes.reviews import require_reviewer
from healthcode.credit import services
from healthcode.credit.models import CreditOutboxMessage, DishonestyRecord

router = Router(tags=["credit"])

ERRORS = {400: ErrorsOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}

RecordStatusName = Literal[
    "", "flagged", "confirmed", "final", "delivered", "rejected", "withdrawn", "overturned"
]


class RecordOut(Schema):
    id: str
    code: str
    person_name: str
    id_number: str
    what_was_false: str
    fields: list[str]
    evidence: str
    legal_basis: str
    status: str
    status_label: str
    flagged_by: int
    flagged_at: datetime
    confirmed_by: int | None = None
    confirmed_at: datetime | None = None
    appeal_deadline: datetime | None = None
    appeal_pending: bool
    final_at: datetime | None = None
    delivered_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawal_reason: str


class MyRecordOut(Schema):
    id: str
    code: str
    person_name: str
    what_was_false: str
    fields: list[str]
    legal_basis: str
    status: str
    status_label: str
    confirmed_at: datetime | None = None
    appeal_deadline: datetime | None = None
    appeal_pending: bool
    final_at: datetime | None = None
    delivered_at: datetime | None = None
    withdrawn_at: datetime | None = None


class FlagIn(Schema):
    code: str = Field(..., description="the health code's id")
    what: str = Field(..., description="what was false, in a sentence")
    fields: list[str] = Field(..., description="the declaration fields concerned")
    evidence: str
    legal_basis: str = Field("", description="defaults to the notice of 2020-02-21, art. 3")


class ConfirmIn(Schema):
    approve: bool


class WithdrawIn(Schema):
    reason: str


class MessageOut(Schema):
    id: int
    record: str
    kind: str
    sequence: int
    idempotency_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    delivered_at: datetime | None = None


def record_out(record: DishonestyRecord) -> dict[str, Any]:
    return {
        "id": str(record.public_id),
        "code": str(record.code.public_id),
        "person_name": record.person_name,
        "id_number": record.id_number_masked,
        "what_was_false": record.what_was_false,
        "fields": record.fields,
        "evidence": record.evidence,
        "legal_basis": record.legal_basis,
        "status": record.status,
        "status_label": str(record.get_status_display()),
        "flagged_by": record.flagged_by_id,
        "flagged_at": record.flagged_at,
        "confirmed_by": record.confirmed_by_id,
        "confirmed_at": record.confirmed_at,
        "appeal_deadline": record.appeal_deadline,
        "appeal_pending": record.appeal_pending,
        "final_at": record.final_at,
        "delivered_at": record.delivered_at,
        "withdrawn_at": record.withdrawn_at,
        "withdrawal_reason": record.withdrawal_reason,
    }


def message_out(message: CreditOutboxMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "record": str(message.record.public_id),
        "kind": message.kind,
        "sequence": message.sequence,
        "idempotency_key": str(message.idempotency_key),
        "status": message.status,
        "attempts": message.attempts,
        "next_attempt_at": message.next_attempt_at,
        "last_error": message.last_error,
        "created_at": message.created_at,
        "delivered_at": message.delivered_at,
    }


@router.get("/admin/credit/records", auth=admin_auth, response={200: list[RecordOut], **ERRORS})
def list_records(request: HttpRequest, status: RecordStatusName = "") -> Any:
    require_reviewer(request.user)
    records = services.records_in_scope(request.user).select_related("code")
    if status:
        records = records.filter(status=status)
    return [record_out(r) for r in records[:500]]


@router.post("/admin/credit/records", auth=admin_auth, response={201: RecordOut, **ERRORS})
def flag_record(request: HttpRequest, payload: FlagIn) -> Any:
    require_reviewer(request.user)
    code = code_in_scope(request.user, payload.code)
    record = services.flag_false_declaration(
        reviewer=request.user,
        code=code,
        what=payload.what,
        fields=payload.fields,
        evidence=payload.evidence,
        legal_basis=payload.legal_basis,
        ip=client_ip(request),
    )
    return Status(201, record_out(record))


@router.post(
    "/admin/credit/records/{record_id}/confirm",
    auth=admin_auth,
    response={200: RecordOut, **ERRORS},
)
def confirm_record(request: HttpRequest, record_id: str, payload: ConfirmIn) -> Any:
    require_reviewer(request.user)
    record = services.record_in_scope(request.user, record_id)
    record = services.confirm_record(
        approver=request.user, record=record, approve=payload.approve, ip=client_ip(request)
    )
    return record_out(record)


@router.post(
    "/admin/credit/records/{record_id}/withdraw",
    auth=admin_auth,
    response={200: RecordOut, **ERRORS},
)
def withdraw_record(request: HttpRequest, record_id: str, payload: WithdrawIn) -> Any:
    require_reviewer(request.user)
    record = services.record_in_scope(request.user, record_id)
    record = services.withdraw_record(
        actor=request.user, record=record, reason=payload.reason, ip=client_ip(request)
    )
    return record_out(record)


@router.get("/admin/credit/outbox", auth=admin_auth, response={200: list[MessageOut], **ERRORS})
def list_outbox(
    request: HttpRequest,
    status: Literal["", "pending", "delivered", "failed"] = Query(""),  # noqa: B008
) -> Any:
    require_reviewer(request.user)
    messages = services.messages_in_scope(request.user).select_related("record")
    if status:
        messages = messages.filter(status=status)
    return [message_out(m) for m in messages.order_by("-created_at", "-id")[:500]]


@router.post(
    "/admin/credit/outbox/{message_id}/retry",
    auth=admin_auth,
    response={200: MessageOut, **ERRORS},
)
def retry_message(request: HttpRequest, message_id: int) -> Any:
    require_reviewer(request.user)
    message = get_object_or_404(services.messages_in_scope(request.user), pk=message_id)
    message = services.retry_message(actor=request.user, message=message, ip=client_ip(request))
    return message_out(message)


@router.get("/me/credit-records", auth=api_auth, response={200: list[MyRecordOut], 401: ErrorOut})
def my_records(request: HttpRequest) -> Any:
    records = (
        services.records_of_holder(request.user)
        .exclude(status__in=["flagged", "rejected"])  # not decided yet, or never was
        .select_related("code")
    )
    return [{**record_out(r), "code": str(r.code.public_id)} for r in records]
