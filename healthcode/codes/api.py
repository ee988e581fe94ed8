"""API for codes: list, declare, read, the signed QR token, and online scan verification."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from healthcode.accounts.auth import api_auth, client_ip
from healthcode.accounts.permissions import code_for_holder, codes_visible_to
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.codes import keys, services
from healthcode.lib.throttle import rate_limited

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
    """A scanned token. A scanner of an enterprise adds "enterprise": alone, the code is
    checked for that enterprise (verdict, whether an employee there) without recording; with
    "temperature" (and "symptoms"), health attendance is recorded, which is also the
    person's check-in of the day."""

    payload: str = Field(description="the QR content as scanned, e.g. NN1:…")
    enterprise: int | None = Field(
        None,
        description="id of an enterprise the caller may scan for (403 not_a_scanner "
        "if it is approved but the caller has no scan permission there, 404 if unknown)",
    )
    temperature: Decimal | None = Field(
        None, description="°C, 34.0–43.0; with enterprise: record health attendance"
    )
    symptoms: list[str] | None = Field(
        None,
        description="with temperature: fever, cough, fatigue, sore_throat, short_breath, "
        "diarrhea, other",
    )


class AttendanceOut(Schema):
    """A health-attendance record (健康考勤)."""

    id: int
    enterprise: int
    day: date
    at: datetime
    code: str
    name: str = Field(description="masked, e.g. 赵*刚")
    employee: int | None = None
    employee_here: bool
    department: str | None = None
    color: str = Field(description="the colour after the check-in this record made")
    verdict: str = Field(description="may_work | may_not_work")
    verdict_text: str
    temperature: float
    abnormal_temperature: bool = Field(description="at or above the fever threshold")
    symptoms: list[str]
    scanner: str | None = Field(None, description="the scanner's phone, masked")
    checkin: int | None = None


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
    verdict: str | None = Field(
        None, description="with enterprise: may_work (green, 可返岗) | may_not_work (暂不可返岗)"
    )
    verdict_text: str | None = None
    employee_here: bool | None = Field(
        None, description="with enterprise: an active employee of that enterprise"
    )
    department: str | None = None
    attendance: AttendanceOut | None = Field(
        None, description="with enterprise and temperature: the record written"
    )


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
    response={200: ScanOut, 400: ErrorsOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    tags=["scans"],
    summary="Verify a scanned QR token online; a scanner of an enterprise records attendance",
    description=(
        "Anyone logged in may verify: the authoritative current colour, or why the token is "
        "rejected (`valid: false`). With `enterprise`, only a scanner of that enterprise "
        "(an employee with scan permission, or a manager) may call: the answer adds the "
        "verdict and whether the person is an employee there. With `enterprise` and "
        "`temperature` (34–43 °C) and `symptoms`, it records health attendance (健康考勤), "
        "which is also the person's check-in of the day (source enterprise_scan); the colour, "
        "reasons and verdict answered are those after that check-in. A rejected token "
        "records nothing. 400 names the bad field; 403 `not_a_scanner`; 404 for an unknown "
        "or unapproved enterprise. 429 `throttled` over a rate limit (Retry-After)."
    ),
)
@rate_limited("scan")
def scan(request: HttpRequest, payload: ScanIn) -> dict:
    # Imported here: the codes app does not depend on the enterprise module at import time.
    from healthcode.enterprises import attendance

    ip = client_ip(request)
    if payload.enterprise is None:
        if payload.temperature is not None or payload.symptoms:
            raise ValidationError({"enterprise": [_("记录体温和症状（健康考勤）时必须指定企业。")]})
        return services.verify_scan(payload=payload.payload, scanner=request.user, ip=ip)
    if payload.temperature is None and payload.symptoms is None:
        return attendance.check_for_enterprise(
            scanner=request.user, enterprise_id=payload.enterprise, payload=payload.payload, ip=ip
        )
    return attendance.record_attendance(
        scanner=request.user,
        enterprise_id=payload.enterprise,
        payload=payload.payload,
        temperature=payload.temperature,
        symptoms=payload.symptoms,
        ip=ip,
    )
