"""Login for the JSON API (SPEC §9): a code by SMS, exchanged for a bearer token."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from healthcode.accounts import services
from healthcode.accounts.auth import bearer_auth, client_ip
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.lib.throttle import rate_limited

router = Router(tags=["auth"])


class OtpRequestIn(Schema):
    phone: str = Field(
        description="Mainland mobile number, 11 digits (+86 and spaces are accepted).",
        examples=["13800138000"],
    )


class TokenRequestIn(Schema):
    phone: str = Field(description="The number the code was sent to.", examples=["13800138000"])
    code: str = Field(description="The 6-digit code from the SMS.", examples=["123456"])


class DetailOut(Schema):
    detail: str


class TokenOut(Schema):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime


# The same shapes (and names) as the other routers' error schemas, so the OpenAPI document
# has one definition of each. TODO(lead): one shared module for these, e.g. healthcode/api/schemas.py.
@router.post(
    "/auth/otp",
    response={202: DetailOut, 400: ErrorsOut, 429: ErrorOut},
    summary="Send a login code by SMS",
    description="Sends a 6-digit code valid for 5 minutes. Limited per phone (at least 60 s "
    "apart, a few per hour) and per client address; a refusal is 429 saying how long to wait.",
)
@rate_limited("otp")
def request_code(request: HttpRequest, payload: OtpRequestIn) -> Status[dict[str, str]]:
    services.request_otp(phone=payload.phone, ip=client_ip(request))
    return Status(202, {"detail": services.code_sent_message()})


@router.post(
    "/auth/token",
    response={200: TokenOut, 400: ErrorsOut, 429: ErrorOut},
    summary="Exchange a login code for a bearer token",
    description="Creates the account on first login. A code dies after 5 wrong tries, after "
    "use and after 5 minutes; errors are given on the field `code`. Limited per client "
    "address (429).",
)
@rate_limited("login")
def obtain_token(request: HttpRequest, payload: TokenRequestIn) -> dict[str, object]:
    user = services.verify_otp(phone=payload.phone, code=payload.code, ip=client_ip(request))
    issued = services.create_api_token(user=user)
    return {"token": issued.raw, "expires_at": issued.expires_at}


@router.post(
    "/auth/logout",
    auth=bearer_auth,
    response={204: None, 401: ErrorOut},
    summary="Revoke the bearer token of this request",
)
def logout(request: HttpRequest) -> Status[None]:
    services.revoke_api_token(raw=request.bearer_token)  # type: ignore[attr-defined]
    return Status(204, None)
