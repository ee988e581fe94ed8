"""API for codes: list, declare, read, the signed QR token, and online scan verification."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from healthcode.accounts.auth import api_auth, client_ip
from healthcode.accounts.permissions import code_for_holder, codes_visible_to
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.codes import keys, services

router = Router(auth=api_auth, tags=["codes"])


class ReasonOut(Schema):
    rule: str
    text: str


class StepOut(Schema):
    rule: str
    text: str
    from_date: date | None = None
    done: bool


class CodeOut(Schema):
    id: str
    name: str = Field(description="masked, e.g. 赵*刚")
    relation: str
    color: str = Field(description="green | yellow | red")
    reasons: list[ReasonOut]
    path_to_green: list[StepOut]
    district: str
    district_name: str
    color_since: datetime
    rule_set: str
    updated_at: datetime


class DeclarationIn(Schema):
    """The declaration (SPEC §3, §9). Validation messages name the field and the rule."""

    name: str
    id_number: str
    phone: str | None = Field(None, description="defaults to the account's phone")
    address: str
    district: str = Field(description="6-digit code of a Nanning district or county, e.g. 450103")
    returned_to_work: bool = False
    employer: str = ""
    returned_from_elsewhere: bool = False
    return_region: str | None = Field(None, description="6-digit GB/T 2260 code, e.g. 420000")
    arrival_date: date | None = None
    contact_with_case: bool = False
    contact_date: date | None = None
    symptoms: list[str] = Field(
        default_factory=list,
        description="fever, cough, fatigue, sore_throat, short_breath, diarrhea, other",
    )
    temperature: Decimal | None = Field(None, description="°C, 34.0–43.0")
    attestation: bool = Field(description="must be true")


class QrOut(Schema):
    payload: str
    expires_at: datetime


class ScanIn(Schema):
    payload: str


class ScanOut(Schema):
    valid: bool
    error: str | None = Field(None, description="bad_signature | expired | unknown_key | malformed | revoked")
    detail: str | None = None
    id: str | None = None
    color: str | None = None
    token_color: str | None = None
    name: str | None = None
    reasons: list[ReasonOut] | None = None
    path_to_green: list[StepOut] | None = None
    checked_in_today: bool | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    verified_at: datetime | None = None


@router.get("/codes", response=list[CodeOut], summary="The account's codes (own and family members')")
def list_codes(request: HttpRequest) -> list[dict]:
    codes = codes_visible_to(request.user).select_related("district").order_by("created_at", "pk")
    return [services.present(services.current(c)) for c in codes]


@router.post(
    "/codes",
    response={201: CodeOut, 400: ErrorsOut},
    summary="Apply for a code (申领): the declaration with the attestation",
)
def create_code(request: HttpRequest, payload: DeclarationIn) -> Status:
    data = payload.dict()
    if data.get("phone") is None:
        data["phone"] = ""
    code = services.declare(account=request.user, data=data, ip=client_ip(request))
    return Status(201, services.present(code))


@router.get("/codes/{code_id}", response={200: CodeOut, 404: ErrorOut}, summary="One code")
def get_code(request: HttpRequest, code_id: str) -> dict:
    return services.present(services.current(code_for_holder(request.user, code_id)))


@router.get(
    "/codes/{code_id}/qr",
    response={200: QrOut, 404: ErrorOut},
    summary="The signed QR content, short-lived (refresh before expires_at)",
)
def get_qr(request: HttpRequest, code_id: str) -> dict:
    code = services.current(code_for_holder(request.user, code_id))
    payload, expires_at = keys.issue_token(code)
    return {"payload": payload, "expires_at": expires_at}


@router.post(
    "/scans",
    response={200: ScanOut, 400: ErrorsOut},
    tags=["scans"],
    summary="Verify a scanned QR token online: authoritative colour, or why it is rejected",
)
def scan(request: HttpRequest, payload: ScanIn) -> dict:
    return services.verify_scan(payload=payload.payload, scanner=request.user, ip=client_ip(request))
