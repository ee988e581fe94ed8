"""API for daily check-ins (健康打卡)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from healthcode.accounts.auth import api_auth, client_ip
from healthcode.accounts.permissions import code_for_holder
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.checkins.services import present_checkin, record_checkin
from healthcode.codes import services as code_services
from healthcode.codes.api import CodeOut
from healthcode.lib.throttle import rate_limited

router = Router(auth=api_auth, tags=["checkins"])


class CheckInIn(Schema):
    temperature: Decimal = Field(description="°C, 34.0–43.0")
    symptoms: list[str] = Field(default_factory=list)
    in_nanning: bool
    new_contact: bool


class CheckInOut(Schema):
    id: int
    day: date
    temperature: float
    symptoms: list[str]
    in_nanning: bool
    new_contact: bool
    source: str
    revision: int
    updated_at: datetime


class CheckInResult(Schema):
    checkin: CheckInOut
    code: CodeOut


@router.post(
    "/codes/{code_id}/checkins",
    response={201: CheckInResult, 400: ErrorsOut, 404: ErrorOut, 429: ErrorOut},
    summary="Today's check-in; a second one the same day amends it (history kept)",
)
@rate_limited("checkin")
def create_checkin(request: HttpRequest, code_id: str, payload: CheckInIn) -> Status:
    code = code_for_holder(request.user, code_id)
    # record_checkin leaves `code` as stored after the check-in (re-derived colour included).
    checkin = record_checkin(code=code, actor=request.user, data=payload.dict(), ip=client_ip(request))
    return Status(201, {"checkin": present_checkin(checkin), "code": code_services.present(code)})


@router.get(
    "/codes/{code_id}/checkins",
    response={200: list[CheckInOut], 404: ErrorOut},
    summary="The code's check-ins, newest first",
)
def list_checkins(request: HttpRequest, code_id: str) -> list[dict]:
    code = code_for_holder(request.user, code_id)
    return [present_checkin(c) for c in code.checkins.order_by("-day")[:60]]
