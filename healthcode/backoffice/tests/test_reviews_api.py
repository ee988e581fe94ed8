"""The review API (/api/v1/admin/reviews…, manual colours): the queue with filters, paging
and audited unmasking, one code's facts, reviews one by one and in bulk, and manual colours
with four eyes, the closed list of reasons and the resident's SMS."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.backoffice.tests.reviews_personas import *  # noqa: F403
from healthcode.backoffice.tests.reviews_personas import resident_code
from healthcode.checkins.services import record_checkin
from healthcode.codes.models import HealthCode, ManualColorRequest, Review
from healthcode.testing import AdminApiClient

pytestmark = pytest.mark.django_db

HEALTHY = {"temperature": "36.5", "symptoms": [], "in_nanning": True, "new_contact": False}


def test_it_lists_the_queue_masked_red_first_with_filters_and_pages(reviewer, red_code):
    """The queue holds the yellow and red codes of the reviewer's district, red first, with
    masked personal data and the main reason; it filters by colour, district and rule, and
    pages; a bad filter is a 400 naming it."""
    yellow = resident_code(403, days_ago=2)
    HealthCode.objects.filter(pk=yellow.pk).update(color="yellow")
    resident_code(404, days_ago=2, district="450102")  # another district's
    api = AdminApiClient(reviewer)

    body = api.get("/admin/reviews").json()
    assert body["count"] == 2 and body["page"] == 1 and body["pages"] == 1
    first = body["results"][0]
    assert first["id"] == str(red_code.public_id) and first["color"] == "red"
    assert first["name"] == "钱*红" and first["phone"] == "139****0401"
    assert first["id_number"] == red_code.id_number_masked and first["unmasked"] is False
    assert first["main_reason"]["rule"] == "return_region"
    assert "湖北" in first["main_reason"]["text"]
    assert not AuditRecord.objects.filter(action="unmasked_view").exists()

    assert [c["id"] for c in api.get("/admin/reviews?color=yellow").json()["results"]] == [
        str(yellow.public_id)
    ]
    assert api.get("/admin/reviews?district=450102").json()["count"] == 0
    assert api.get("/admin/reviews?rule=manual").json()["count"] == 0
    assert api.get("/admin/reviews?rule=return_region").json()["count"] == 2
    paged = api.get("/admin/reviews?page_size=1&page=2").json()
    assert paged["pages"] == 2 and paged["results"][0]["id"] == str(yellow.public_id)

    r = api.get("/admin/reviews?rule=quarantine")
    assert r.status_code == 400 and "rule" in r.json()["errors"]
    r = api.get("/admin/reviews?color=green")
    assert r.status_code == 400 and "color" in r.json()["errors"]
    r = api.get("/admin/reviews?district=999999")
    assert r.status_code == 400 and "district" in r.json()["errors"]


def test_it_unmasks_only_when_asked_and_audits_it(reviewer, red_code):
    """unmask=true gives the full name, phone and ID number to a role that may unmask, each
    reveal audited."""
    body = AdminApiClient(reviewer).get("/admin/reviews?unmask=true").json()
    item = body["results"][0]
    assert item["unmasked"] is True and item["name"] == "钱小红"
    assert item["phone"] == red_code.phone and len(item["id_number"]) == 18
    record = AuditRecord.objects.get(action="unmasked_view")
    assert record.actor == reviewer and record.subject_id == str(red_code.pk)


def test_it_shows_one_code_with_facts_check_ins_and_history(reviewer, red_code):
    """The detail has the declared facts, the reasons and path to green, the check-ins of the
    last 14 days, the colour history and whether it can be reviewed now."""
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    for back in (20, 3, 0):
        day = today - timedelta(days=back)
        record_checkin(
            code=red_code,
            actor=red_code.account,
            data=HEALTHY,
            now=datetime.combine(day, time(9), tz),
        )
    body = AdminApiClient(reviewer).get(f"/admin/reviews/{red_code.public_id}").json()
    assert body["color"] == "red" and body["reviewable"] is True
    assert body["name"] == "钱*红" and body["unmasked"] is False
    assert body["facts"]["return_region"] == "420100" and body["facts"]["returned_from_elsewhere"]
    assert body["reasons"][0]["rule"] == "return_region"
    assert body["path_to_green"][0]["rule"] == "review"
    assert [c["day"] for c in body["checkins"]] == [
        (today - timedelta(days=n)).isoformat() for n in (0, 3)
    ]
    assert body["history"][0]["color_to"] == "red" and body["history"][0]["cause"] == (
        "declaration"
    )
    assert body["reviews"] == [] and body["official_lists"] == [] and body["manual_requests"] == []


def test_it_reviews_a_code_and_refuses_only_with_a_note(reviewer, red_code):
    """A refusal without a note is a 400 naming note; an approval turns a code whose
    observation is over green; a code no longer in the queue is a 404."""
    api = AdminApiClient(reviewer)
    url = f"/admin/reviews/{red_code.public_id}"
    r = api.post(url, {"outcome": "refuse", "note": ""})
    assert r.status_code == 400 and "note" in r.json()["errors"]
    r = api.post(url, {"outcome": "later"})
    assert r.status_code == 400 and "outcome" in r.json()["errors"]
    assert not Review.objects.exists()

    r = api.post(url, {"outcome": "approve", "note": "观察期满"})
    assert r.status_code == 200
    assert r.json()["color_before"] == "red" and r.json()["color"] == "green"
    assert api.post(url, {"outcome": "approve"}).status_code == 404  # green: not in the queue
    assert api.get(url).json()["reviewable"] is False


def test_it_reviews_in_bulk_all_or_nothing(reviewer, red_code):
    """A batch with a code of another district is a 404 naming it and reviews nothing;
    without it every code is reviewed, one report each."""
    second = resident_code(405, days_ago=3)
    elsewhere = resident_code(406, days_ago=3, district="450102")
    api = AdminApiClient(reviewer)
    ids = [str(red_code.public_id), str(second.public_id)]
    r = api.post(
        "/admin/reviews/bulk",
        {"codes": [*ids, str(elsewhere.public_id)], "outcome": "approve"},
    )
    assert r.status_code == 404 and str(elsewhere.public_id) in r.json()["detail"]
    assert not Review.objects.exists()
    r = api.post("/admin/reviews/bulk", {"codes": [], "outcome": "approve"})
    assert r.status_code == 400 and "codes" in r.json()["errors"]
    r = api.post("/admin/reviews/bulk", {"codes": ids, "outcome": "refuse"})
    assert r.status_code == 400 and "note" in r.json()["errors"]

    r = api.post("/admin/reviews/bulk", {"codes": ids, "outcome": "refuse", "note": "材料不全"})
    assert r.status_code == 200
    assert [(x["id"], x["outcome"], x["color"]) for x in r.json()["results"]] == [
        (ids[0], "refuse", "red"),
        (ids[1], "refuse", "red"),
    ]
    assert Review.objects.count() == 2


def test_it_lists_the_closed_list_of_reasons_in_the_callers_language(reviewer):
    """GET /manual-reasons gives each reason's code, text, colours and published rule."""
    zh = AdminApiClient(reviewer).get("/admin/manual-reasons").json()
    by_code = {r["code"]: r for r in zh}
    assert by_code["epi_close_contact"]["text"] == "流调确认的密切接触者"
    assert by_code["epi_close_contact"]["colors"] == ["red"]
    assert by_code["epi_close_contact"]["rule"] == "contact"
    assert by_code["fever_clinic"]["colors"] == ["yellow", "red"]
    en = AdminApiClient(reviewer, language="en").get("/admin/manual-reasons").json()
    assert {r["code"]: r["text"] for r in en}["fever_clinic"] == (
        "Seen at a fever clinic, pending tests"
    )


def test_it_sets_a_manual_colour_with_four_eyes(
    reviewer, requester, green_code, sms_locmem, django_capture_on_commit_callbacks
):
    """A reason not on the list or not allowed for the colour is a 400 naming reason_code;
    the request (201) changes nothing until a second official confirms it; the requester's
    own confirmation is a 403 four_eyes; a second request is a 409; the confirmation turns
    the code red with the reason and texts the resident."""
    api = AdminApiClient(requester)
    url = f"/admin/codes/{green_code.public_id}/manual-color"
    r = api.post(url, {"color": "red", "reason_code": "made_up"})
    assert r.status_code == 400 and "reason_code" in r.json()["errors"]
    r = api.post(url, {"color": "yellow", "reason_code": "epi_close_contact"})
    assert r.status_code == 400 and "reason_code" in r.json()["errors"]
    r = api.post(url, {"color": "green", "reason_code": "fever_clinic"})
    assert r.status_code == 400 and "color" in r.json()["errors"]

    r = api.post(url, {"color": "red", "reason_code": "epi_close_contact", "note": "流调报告"})
    assert r.status_code == 201
    made = r.json()
    assert made["status"] == "pending" and made["reason"] == "流调确认的密切接触者"
    assert made["code"] == str(green_code.public_id)
    green_code.refresh_from_db()
    assert green_code.color == "green"
    r = api.post(url, {"color": "red", "reason_code": "fever_clinic"})
    assert r.status_code == 409 and r.json()["error"] == "already_pending"

    assert api.get("/admin/manual-color-requests").json() == []  # not one's own
    r = api.post(f"/admin/manual-color-requests/{made['id']}", {"approve": True})
    assert r.status_code == 403 and r.json()["error"] == "four_eyes"

    second = AdminApiClient(reviewer)
    assert [x["id"] for x in second.get("/admin/manual-color-requests").json()] == [made["id"]]
    with django_capture_on_commit_callbacks(execute=True):
        r = second.post(f"/admin/manual-color-requests/{made['id']}", {"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    detail = second.get(f"/admin/reviews/{green_code.public_id}").json()
    assert detail["color"] == "red" and detail["reasons"][0]["rule"] == "manual"
    assert "流调确认的密切接触者" in detail["reasons"][0]["text"]
    assert [m["status"] for m in detail["manual_requests"]] == ["approved"]
    assert [m["to"] for m in sms_locmem] == [green_code.phone]
    assert "红码" in sms_locmem[0]["text"] and "流调确认的密切接触者" in sms_locmem[0]["text"]
    r = second.post(f"/admin/manual-color-requests/{made['id']}", {"approve": False})
    assert r.status_code == 409


def test_it_lets_the_requester_withdraw(requester, reviewer, pending_request):
    """The requester withdraws a pending request (then nobody can confirm it)."""
    r = AdminApiClient(requester).post(
        f"/admin/manual-color-requests/{pending_request.pk}/withdraw", {}
    )
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert ManualColorRequest.objects.get().status == "withdrawn"
    r = AdminApiClient(reviewer).post(
        f"/admin/manual-color-requests/{pending_request.pk}", {"approve": True}
    )
    assert r.status_code == 409
    assert AuditRecord.objects.filter(action="manual_color_withdraw", actor=requester).exists()
