"""Review and manual-colour services (healthcode.codes.reviews): scope, notes, bulk all or
nothing, four eyes, re-derivation, the resident's SMS and "why" page, and the facts the rules
engine gets from official lists and manual colours (codes.services.facts_for)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client
from django.utils import timezone

from healthcode.accounts import sms
from healthcode.audit.models import AuditRecord
from healthcode.backoffice.models import AdminRole
from healthcode.checkins.services import record_checkin
from healthcode.codes import reviews, services
from healthcode.codes.models import (
    ColorChange,
    HealthCode,
    ManualColorRequest,
    OfficialListEntry,
    OfficialListImport,
    Review,
)
from healthcode.enterprises.tests.conftest import *  # noqa: F403
from healthcode.lib.errors import ApiError
from healthcode.testing import declaration, id_number, make_user

pytestmark = pytest.mark.django_db

HEALTHY = {"temperature": "36.5", "symptoms": [], "in_nanning": True, "new_contact": False}


def admin(phone: str, kind: str, district: str | None = None):
    user = make_user(phone)
    AdminRole.objects.create(user=user, kind=kind, district_id=district)
    return user


def returned_code(seq: int, *, days_ago: int, region: str = "420100", district: str = "450103"):
    """A resident of `district` back from `region` (Hubei by default) `days_ago` days ago."""
    user = make_user(f"1390000{seq:04d}")
    return services.declare(
        account=user,
        data=declaration(
            name="钱小红",
            id_number=id_number(seq=seq),
            district=district,
            returned_from_elsewhere=True,
            return_region=region,
            arrival_date=(timezone.localdate() - timedelta(days=days_ago)).isoformat(),
        ),
    )


@pytest.fixture
def reviewer(db):
    """A reviewer of 青秀区 (450103)."""
    return admin("13800000201", "reviewer", "450103")


@pytest.fixture
def second_reviewer(db):
    return admin("13800000202", "reviewer", "450103")


@pytest.fixture
def other_district_admin(db):
    """A district admin of 兴宁区 (450102)."""
    return admin("13800000203", "district_admin", "450102")


@pytest.fixture
def red_code():
    """Back from Hubei 3 days ago: red, waiting for a review and 11 more days."""
    return returned_code(301, days_ago=3)


@pytest.fixture
def old_red_code():
    """Back from Hubei 20 days ago: red, and green as soon as a review approves it."""
    return returned_code(302, days_ago=20)


@pytest.fixture
def locmem_sms(settings):
    settings.HEALTHCODE_SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


# --- Reviews -------------------------------------------------------------------------------


def test_it_approves_a_code_to_green_when_the_conditions_are_met(reviewer, old_red_code):
    """An approval of a code whose observation period is over turns it green at once, with a
    history row caused by the review and an audit record."""
    assert old_red_code.color == "red"
    result = reviews.review_code(
        reviewer=reviewer, code=old_red_code, outcome="approve", note="核实无误"
    )
    old_red_code.refresh_from_db()
    assert old_red_code.color == "green" and result["color"] == "green"
    assert result["color_before"] == "red"
    assert Review.objects.get(code=old_red_code).reviewer == reviewer
    assert ColorChange.objects.filter(code=old_red_code, cause="review", color_to="green").exists()
    record = AuditRecord.objects.get(action="review", actor=reviewer)
    assert record.detail["outcome"] == "approve" and record.detail["color_before"] == "red"


def test_it_turns_green_automatically_after_approval_observation_and_check_ins(reviewer, red_code):
    """An approval 3 days after arrival keeps the code red; after the 14-day observation with
    clean daily check-ins it turns green by itself (the sweep), without anyone acting."""
    reviews.review_code(reviewer=reviewer, code=red_code, outcome="approve")
    red_code.refresh_from_db()
    assert red_code.color == "red"
    review_step = red_code.path_to_green[0]
    assert review_step["rule"] == "review" and review_step["done"] is True

    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    for offset in range(11):  # the declaration day up to the last day of observation
        day = today + timedelta(days=offset)
        record_checkin(
            code=red_code,
            actor=red_code.account,
            data=HEALTHY,
            now=datetime.combine(day, time(9), tz),
        )
    red_code.refresh_from_db()
    green_at = datetime.combine(today + timedelta(days=11), time(0), tz)
    assert red_code.color == "red" and red_code.next_change_at == green_at
    assert services.sweep(now=green_at) == 1
    red_code.refresh_from_db()
    assert red_code.color == "green"


def test_it_refuses_only_with_a_note_and_shows_it(reviewer, red_code):
    """A refusal without a note is a 400 naming "note" and saves nothing; with a note the
    code stays red and the resident's reasons say why."""
    with pytest.raises(ValidationError) as caught:
        reviews.review_code(reviewer=reviewer, code=red_code, outcome="refuse", note=" ")
    assert "note" in caught.value.message_dict
    assert not Review.objects.exists()
    with pytest.raises(ValidationError) as caught:
        reviews.review_code(reviewer=reviewer, code=red_code, outcome="maybe")
    assert "outcome" in caught.value.message_dict

    reviews.review_code(reviewer=reviewer, code=red_code, outcome="refuse", note="未按规定隔离")
    red_code.refresh_from_db()
    assert red_code.color == "red"
    assert any(r["rule"] == "review" and "未按规定隔离" in r["text_zh"] for r in red_code.reasons)


def test_it_reviews_only_codes_in_the_queue(
    reviewer, other_district_admin, industry_admin, red_code, resident
):
    """Another district's admin gets 404, as for a green code; an industry admin 403; nobody
    reviews their own code (403)."""
    with pytest.raises(Http404):
        reviews.review_code(reviewer=other_district_admin, code=red_code, outcome="approve")
    green = resident.health_codes.get()
    with pytest.raises(Http404):
        reviews.review_code(reviewer=reviewer, code=green, outcome="approve")
    with pytest.raises(ApiError) as caught:
        reviews.review_code(reviewer=industry_admin, code=red_code, outcome="approve")
    assert caught.value.status == 403 and caught.value.code == "not_a_reviewer"
    AdminRole.objects.create(user=red_code.account, kind="reviewer", district_id="450103")
    with pytest.raises(ApiError) as caught:
        reviews.review_code(reviewer=red_code.account, code=red_code, outcome="approve")
    assert caught.value.code == "own_code"
    assert not Review.objects.exists()


def test_it_reviews_in_bulk_all_or_nothing(reviewer, red_code, old_red_code):
    """One code of another district (or an unknown one) in the batch: 404 naming it and no
    code reviewed; otherwise every code is reviewed, with one report each."""
    elsewhere = returned_code(303, days_ago=2, district="450102")
    batch = [str(red_code.public_id), str(old_red_code.public_id), str(elsewhere.public_id)]
    with pytest.raises(ApiError) as caught:
        reviews.review_codes(reviewer=reviewer, codes=batch, outcome="approve")
    assert caught.value.status == 404 and str(elsewhere.public_id) in caught.value.detail
    with pytest.raises(ApiError) as caught:
        reviews.review_codes(reviewer=reviewer, codes=[*batch[:2], "not-a-uuid"], outcome="approve")
    assert "not-a-uuid" in caught.value.detail
    assert not Review.objects.exists()

    with pytest.raises(ValidationError) as caught:
        reviews.review_codes(reviewer=reviewer, codes=[], outcome="approve")
    assert "codes" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        reviews.review_codes(reviewer=reviewer, codes=batch[:2], outcome="refuse")
    assert "note" in caught.value.message_dict

    results = reviews.review_codes(
        reviewer=reviewer, codes=[*batch[:2], batch[0]], outcome="approve"
    )
    assert [r["id"] for r in results] == batch[:2]
    assert {r["id"]: r["color"] for r in results} == {batch[0]: "red", batch[1]: "green"}
    assert Review.objects.count() == 2
    assert AuditRecord.objects.filter(action="review", detail__bulk=True).count() == 2


# --- Manual colours ------------------------------------------------------------------------


def test_it_needs_a_second_official_and_then_turns_the_code_red_with_the_reason(
    reviewer, district_admin, resident, locmem_sms, django_capture_on_commit_callbacks
):
    """The requester cannot confirm their own request (403 four_eyes); a second official's
    confirmation re-derives the code to red with the closed list's reason, records the
    change as manual, audits both steps and sends the resident an SMS with the colour and
    the reason; the resident's "why" page shows the reason."""
    code = resident.health_codes.get()
    assert code.color == "green"
    request = reviews.request_manual_color(
        requester=reviewer, code=code, color="red", reason_code="epi_close_contact", note="流调"
    )
    code.refresh_from_db()
    assert code.color == "green"  # nothing changes before the second official confirms

    with pytest.raises(ApiError) as caught:
        reviews.confirm_manual_color(approver=reviewer, request=request, approve=True)
    assert caught.value.status == 403 and caught.value.code == "four_eyes"

    with django_capture_on_commit_callbacks(execute=True):
        reviews.confirm_manual_color(approver=district_admin, request=request, approve=True)
    code.refresh_from_db()
    request.refresh_from_db()
    assert request.status == "approved" and request.confirmed_by == district_admin
    assert code.color == "red"
    reason = code.reasons[0]
    assert reason["rule"] == "manual" and "流调确认的密切接触者" in reason["text_zh"]
    assert ColorChange.objects.filter(code=code, cause="manual", color_to="red").exists()
    assert AuditRecord.objects.filter(action="manual_color_request", actor=reviewer).exists()
    decision = AuditRecord.objects.get(action="manual_color_decision", actor=district_admin)
    assert decision.detail["approve"] is True and decision.detail["reason_code"] == (
        "epi_close_contact"
    )

    assert len(locmem_sms) == 1
    message = locmem_sms[0]
    assert message["to"] == code.phone
    assert "红码" in message["text"] and "流调确认的密切接触者" in message["text"]

    client = Client()
    client.force_login(resident)
    page = client.get(f"/codes/{code.public_id}/why").content.decode()
    assert 'data-rule="manual"' in page and "流调确认的密切接触者" in page


def test_it_clears_a_manual_colour_by_a_later_approval(
    reviewer, second_reviewer, resident, locmem_sms
):
    """A manual yellow needs a review whatever the rule set reviews, and lasts until a review
    approves the code after it; then the code is green and the manual reason is gone."""
    code = resident.health_codes.get()
    request = reviews.request_manual_color(
        requester=reviewer, code=code, color="yellow", reason_code="fever_clinic"
    )
    reviews.confirm_manual_color(approver=second_reviewer, request=request, approve=True)
    code.refresh_from_db()
    assert code.color == "yellow"
    assert code.path_to_green[0]["rule"] == "review"
    reviews.review_code(reviewer=reviewer, code=code, outcome="approve", note="排查阴性")
    code.refresh_from_db()
    assert code.color == "green"
    assert "manual" not in [r["rule"] for r in code.reasons]


def test_it_validates_manual_requests(
    reviewer, industry_admin, other_district_admin, resident, red_code
):
    """Industry admins may not (403); another district's code does not exist (404); the
    colour must be yellow or red and the reason on the closed list and allowed for the
    colour (400 naming the field); one pending request per code (409)."""
    code = resident.health_codes.get()
    with pytest.raises(ApiError) as caught:
        reviews.request_manual_color(
            requester=industry_admin, code=code, color="red", reason_code="epi_close_contact"
        )
    assert caught.value.status == 403
    with pytest.raises(Http404):
        reviews.request_manual_color(
            requester=other_district_admin, code=code, color="red", reason_code="fever_clinic"
        )
    for color, reason_code, field in [
        ("green", "fever_clinic", "color"),
        ("red", "made_up", "reason_code"),
        ("yellow", "epi_close_contact", "reason_code"),
    ]:
        with pytest.raises(ValidationError) as caught:
            reviews.request_manual_color(
                requester=reviewer, code=code, color=color, reason_code=reason_code
            )
        assert field in caught.value.message_dict, (color, reason_code)
    with pytest.raises(ValidationError) as caught:
        reviews.request_manual_color(
            requester=reviewer, code=code, color="red", reason_code="fever_clinic", note="x" * 501
        )
    assert "note" in caught.value.message_dict
    assert not ManualColorRequest.objects.exists()

    reviews.request_manual_color(
        requester=reviewer, code=code, color="red", reason_code="fever_clinic"
    )
    with pytest.raises(ApiError) as caught:
        reviews.request_manual_color(
            requester=reviewer, code=code, color="red", reason_code="false_declaration"
        )
    assert caught.value.status == 409
    assert ManualColorRequest.objects.count() == 1


def test_it_lets_only_the_requester_withdraw_and_decides_once(
    reviewer, second_reviewer, other_district_admin, resident
):
    """Another official in scope cannot withdraw (403), one out of scope cannot see it (404);
    a withdrawn request cannot be confirmed (409), a rejected one changes nothing."""
    code = resident.health_codes.get()
    request = reviews.request_manual_color(
        requester=reviewer, code=code, color="red", reason_code="undeclared_travel"
    )
    with pytest.raises(ApiError) as caught:
        reviews.withdraw_manual_color(requester=second_reviewer, request=request)
    assert caught.value.code == "not_requester"
    with pytest.raises(Http404):
        reviews.confirm_manual_color(approver=other_district_admin, request=request, approve=True)
    with pytest.raises(Http404):
        reviews.manual_request_in_scope(other_district_admin, request.pk)
    reviews.withdraw_manual_color(requester=reviewer, request=request)
    with pytest.raises(ApiError) as caught:
        reviews.confirm_manual_color(approver=second_reviewer, request=request, approve=True)
    assert caught.value.status == 409

    again = reviews.request_manual_color(
        requester=reviewer, code=code, color="red", reason_code="undeclared_travel"
    )
    reviews.confirm_manual_color(approver=second_reviewer, request=again, approve=False, note="否")
    code.refresh_from_db()
    assert code.color == "green"
    assert list(reviews.pending_requests_for(second_reviewer)) == []


def test_it_lists_pending_requests_for_others_to_confirm(
    reviewer, second_reviewer, district_admin, other_district_admin, city_admin, resident
):
    """The pending list shows a request to officials in scope other than its requester."""
    code = resident.health_codes.get()
    request = reviews.request_manual_color(
        requester=reviewer, code=code, color="red", reason_code="epi_close_contact"
    )
    for official in (second_reviewer, district_admin, city_admin):
        assert list(reviews.pending_requests_for(official)) == [request]
    for official in (reviewer, other_district_admin):
        assert list(reviews.pending_requests_for(official)) == []


# --- The queue -----------------------------------------------------------------------------


def test_it_filters_the_queue(reviewer, city_admin, red_code, old_red_code, resident):
    """Red and yellow codes in scope only, red first; filters by district, colour and the rule
    of a reason; bad filters are 400s naming the filter."""
    yellow = returned_code(304, days_ago=2, region="440300")
    elsewhere = returned_code(305, days_ago=2, district="450102")
    queue = list(reviews.review_queue(reviewer))
    assert set(queue) == {red_code, old_red_code, yellow}
    assert queue[-1] == yellow
    assert elsewhere in reviews.review_queue(city_admin)
    assert list(reviews.review_queue(city_admin, district="450102")) == [elsewhere]
    assert list(reviews.review_queue(reviewer, color="yellow")) == [yellow]
    assert set(reviews.review_queue(reviewer, rule="return_region")) == {
        red_code,
        old_red_code,
        yellow,
    }
    assert list(reviews.review_queue(reviewer, rule="manual")) == []
    for bad in ({"district": "999999"}, {"color": "green"}, {"rule": "nope"}):
        with pytest.raises(ValidationError) as caught:
            reviews.review_queue(reviewer, **bad)
        assert next(iter(bad)) in caught.value.message_dict


# --- Facts from the database --------------------------------------------------------------


def test_it_gives_the_engine_official_lists_and_confirmed_manual_colours(
    reviewer, second_reviewer, resident, django_assert_num_queries
):
    """facts_for reads the code's entries that are not withdrawn (dated by their import) and
    its approved manual colours only; with those prefetched it needs no query for them."""
    code = resident.health_codes.get()
    batch = OfficialListImport.objects.create(file_name="list.xlsx", sha256="0" * 64)
    listed_on = timezone.localdate() - timedelta(days=2)
    OfficialListEntry.objects.create(
        batch=batch, kind="close_contact", id_number_index="x", listed_on=listed_on, code=code
    )
    OfficialListEntry.objects.create(
        batch=batch,
        kind="confirmed",
        id_number_index="x",
        listed_on=listed_on,
        code=code,
        withdrawn_at=timezone.now(),
    )
    reviews.request_manual_color(
        requester=reviewer, code=code, color="red", reason_code="fever_clinic"
    )
    facts = services.facts_for(code)
    assert [(f.kind, f.listed_on, f.at) for f in facts.official_lists] == [
        ("close_contact", listed_on, batch.imported_at)
    ]
    assert facts.manual == ()  # pending: not a fact yet

    request = ManualColorRequest.objects.get()
    reviews.confirm_manual_color(approver=second_reviewer, request=request, approve=True)
    code = HealthCode.objects.prefetch_related("official_entries__batch", "manual_requests").get(
        pk=code.pk
    )
    with django_assert_num_queries(2):  # check-ins and reviews
        facts = services.facts_for(code)
    assert [m.reason_code for m in facts.manual] == ["fever_clinic"]
    assert len(facts.official_lists) == 1

    services.redecide(code, cause="official_list")
    code.refresh_from_db()
    assert code.color == "red"
    assert [r["rule"] for r in code.reasons][:2] == ["manual", "official_list"]
    assert "密切接触者" in code.reasons[1]["text_zh"]
