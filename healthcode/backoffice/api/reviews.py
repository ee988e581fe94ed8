"""API for reviews (审核) and manual colours (人工赋码) under /api/v1/admin — a thin door onto
healthcode.codes.reviews, like the pages:

- `GET /reviews?district=&color=&rule=&page=&page_size=&unmask=`: the queue of yellow and red
  codes in scope (red first, then the longest waiting); masked unless `unmask=true` by a role
  that may unmask (each ID number revealed is audited);
- `GET /reviews/{code_id}?unmask=`: one code in scope (green ones too, for a manual colour):
  facts, reasons, path to green, 14 days of check-ins, colour history, reviews, official-list
  entries and manual colours;
- `POST /reviews/{code_id}` `{"outcome": "approve"|"refuse", "note"}`: review one code of the
  queue (a refusal needs a note);
- `POST /reviews/bulk` `{"codes": [...], "outcome", "note"}`: all or nothing, one report per
  code; any code not in the queue → 404 naming them, nothing reviewed;
- `POST /codes/{code_id}/manual-color` `{"color", "reason_code", "note"}`: request a manual
  colour (201), for a reason of the closed list (`GET /manual-reasons`);
- `GET /manual-color-requests`: the pending ones the caller may confirm (in scope, not theirs);
- `POST /manual-color-requests/{id}` `{"approve", "note"}`: the second official's decision
  (403 `four_eyes` for the requester); `POST /manual-color-requests/{id}/withdraw`: the
  requester takes it back.

Reviewers, district admins and city admins; industry admins get 403 `not_a_reviewer` (they
may read the closed list), accounts without an admin role 403 `not_an_admin`, anonymous
callers 401. Codes and requests outside the caller's scope do not exist for them (404).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import code_in_scope
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.codes import reviews

router = Router(tags=["admin: reviews"])

ERRORS = {400: ErrorsOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


# --- Schemas --------------------------------------------------------------------------------


class QueueFilter(Schema):
    district: str = Field("", description="a Nanning district or development zone, e.g. 450103")
    color: Literal["", "yellow", "red"] = ""
    rule: str = Field("", description="the rule of one of the reasons, e.g. return_region")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)
    unmask: bool = Field(False, description="full name, phone and ID number (audited)")


class ReasonOut(Schema):
    rule: str
    text: str


class StepOut(Schema):
    rule: str
    text: str
    from_date: str | None = None
    done: bool


class QueueItemOut(Schema):
    id: str
    name: str
    phone: str
    id_number: str
    unmasked: bool
    district: str
    district_name: str
    color: str
    color_since: datetime
    main_reason: ReasonOut
    next_change_at: datetime | None = None


class QueueOut(Schema):
    count: int
    page: int
    page_size: int
    pages: int
    results: list[QueueItemOut]


class FactsOut(Schema):
    returned_to_work: bool
    employer: str
    returned_from_elsewhere: bool
    return_region: str | None = None
    return_region_name: str
    arrival_date: date | None = None
    contact_with_case: bool
    contact_date: date | None = None
    symptoms: list[str]
    temperature: float | None = None
    attested_at: datetime


class CheckInOut(Schema):
    day: date
    temperature: float
    symptoms: list[str]
    in_nanning: bool
    new_contact: bool
    source: str


class HistoryOut(Schema):
    at: datetime
    color_from: str
    color_to: str
    cause: str
    cause_label: str
    rules: list[str]


class ReviewOut(Schema):
    decided_at: datetime
    outcome: str
    outcome_label: str
    note: str
    reviewer: str = Field(description="the reviewer's phone, masked")


class ListEntryOut(Schema):
    kind: str
    kind_label: str
    listed_on: date
    imported_at: datetime
    withdrawn_at: datetime | None = None


class ManualRequestOut(Schema):
    id: int
    code: str
    code_name: str = Field(description="masked")
    district: str
    color: str
    color_label: str
    reason_code: str
    reason: str = Field(description="the closed list's text, in the request's language")
    note: str
    status: str = Field(description="pending | approved | rejected | withdrawn")
    status_label: str
    requested_by: str = Field(description="the requester's phone, masked")
    requested_at: datetime
    confirmed_by: str = Field(description="the second official's phone, masked")
    decided_at: datetime | None = None


class CodeDetailOut(Schema):
    id: str
    name: str
    phone: str
    id_number: str
    unmasked: bool
    district: str
    district_name: str
    address: str
    color: str
    color_since: datetime
    reasons: list[ReasonOut]
    path_to_green: list[StepOut]
    next_change_at: datetime | None = None
    rule_set: str
    reviewable: bool = Field(description="yellow or red and in the caller's review queue")
    facts: FactsOut
    checkins: list[CheckInOut]
    history: list[HistoryOut]
    reviews: list[ReviewOut]
    official_lists: list[ListEntryOut]
    manual_requests: list[ManualRequestOut]


class ReviewIn(Schema):
    outcome: Literal["approve", "refuse"]
    note: str = Field("", description="required when refusing; the resident sees it")


class ReviewResultOut(Schema):
    id: str
    review: int
    outcome: str
    color_before: str
    color: str
    next_change_at: datetime | None = None


class BulkReviewIn(ReviewIn):
    codes: list[str] = Field(description="health code ids, at most 200")


class BulkReviewOut(Schema):
    results: list[ReviewResultOut]


class ManualColorIn(Schema):
    color: Literal["yellow", "red"]
    reason_code: str = Field(description="a code of GET /manual-reasons allowed for the colour")
    note: str = ""


class ManualDecisionIn(Schema):
    approve: bool
    note: str = ""


class ManualReasonOut(Schema):
    code: str
    text: str = Field(description="in the request's language")
    text_zh: str
    text_en: str
    colors: list[str]
    rule: str = Field(description="the published rule the reason is tied to")


class DetailQuery(Schema):
    unmask: bool = False


# --- The queue and one code -----------------------------------------------------------------


@router.get("/reviews", response={200: QueueOut, **ERRORS}, summary="The review queue")
def queue(request: HttpRequest, filters: Query[QueueFilter]) -> dict[str, Any]:
    codes = reviews.review_queue(
        request.user, district=filters.district, color=filters.color, rule=filters.rule
    )
    page = Paginator(codes, filters.page_size).get_page(filters.page)
    ip = client_ip(request)
    return {
        "count": page.paginator.count,
        "page": page.number,
        "page_size": filters.page_size,
        "pages": page.paginator.num_pages,
        "results": [
            reviews.present_queue_item(c, viewer=request.user, unmask=filters.unmask, ip=ip)
            for c in page
        ],
    }


@router.post(
    "/reviews/bulk",
    response={200: BulkReviewOut, **ERRORS},
    summary="Approve or refuse several codes at once (all or nothing)",
)
def review_bulk(request: HttpRequest, payload: BulkReviewIn) -> dict[str, Any]:
    results = reviews.review_codes(
        reviewer=request.user,
        codes=payload.codes,
        outcome=payload.outcome,
        note=payload.note,
        ip=client_ip(request),
    )
    return {"results": results}


@router.get(
    "/reviews/{code_id}", response={200: CodeDetailOut, **ERRORS}, summary="One code to review"
)
def detail(request: HttpRequest, code_id: str, query: Query[DetailQuery]) -> dict[str, Any]:
    reviews.require_reviewer(request.user)
    code = code_in_scope(request.user, code_id)
    return reviews.code_detail(
        code, viewer=request.user, unmask=query.unmask, ip=client_ip(request)
    )


@router.post(
    "/reviews/{code_id}", response={200: ReviewResultOut, **ERRORS}, summary="Review one code"
)
def review(request: HttpRequest, code_id: str, payload: ReviewIn) -> dict[str, Any]:
    reviews.require_reviewer(request.user)
    code = code_in_scope(request.user, code_id)
    return reviews.review_code(
        reviewer=request.user,
        code=code,
        outcome=payload.outcome,
        note=payload.note,
        ip=client_ip(request),
    )


# --- Manual colours -------------------------------------------------------------------------


@router.get(
    "/manual-reasons",
    response={200: list[ManualReasonOut], 401: ErrorOut, 403: ErrorOut},
    summary="The closed list of reasons for a manual colour (rule set in force)",
)
def manual_reasons(request: HttpRequest) -> list[dict[str, Any]]:
    return [reviews.present_reason(r) for r in reviews.manual_reasons()]


@router.post(
    "/codes/{code_id}/manual-color",
    response={201: ManualRequestOut, **ERRORS},
    summary="Request a manual colour (a second official confirms it)",
)
def request_manual(request: HttpRequest, code_id: str, payload: ManualColorIn) -> Status:
    reviews.require_reviewer(request.user)
    code = code_in_scope(request.user, code_id)
    made = reviews.request_manual_color(
        requester=request.user,
        code=code,
        color=payload.color,
        reason_code=payload.reason_code,
        note=payload.note,
        ip=client_ip(request),
    )
    return Status(201, reviews.present_request(made))


@router.get(
    "/manual-color-requests",
    response={200: list[ManualRequestOut], **ERRORS},
    summary="Pending manual colours the caller may confirm",
)
def pending_requests(request: HttpRequest) -> list[dict[str, Any]]:
    reviews.require_reviewer(request.user)
    return [reviews.present_request(r) for r in reviews.pending_requests_for(request.user)]


@router.post(
    "/manual-color-requests/{request_id}",
    response={200: ManualRequestOut, **ERRORS},
    summary="Confirm or reject a manual colour (four eyes)",
)
def decide_request(
    request: HttpRequest, request_id: str, payload: ManualDecisionIn
) -> dict[str, Any]:
    reviews.require_reviewer(request.user)
    found = reviews.manual_request_in_scope(request.user, request_id)
    decided = reviews.confirm_manual_color(
        approver=request.user,
        request=found,
        approve=payload.approve,
        note=payload.note,
        ip=client_ip(request),
    )
    return reviews.present_request(decided)


@router.post(
    "/manual-color-requests/{request_id}/withdraw",
    response={200: ManualRequestOut, **ERRORS},
    summary="Withdraw one's own pending manual colour",
)
def withdraw_request(request: HttpRequest, request_id: str) -> dict[str, Any]:
    reviews.require_reviewer(request.user)
    found = reviews.manual_request_in_scope(request.user, request_id)
    withdrawn = reviews.withdraw_manual_color(
        requester=request.user, request=found, ip=client_ip(request)
    )
    return reviews.present_request(withdrawn)
