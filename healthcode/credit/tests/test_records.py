"""Dishonesty records through the API: flagging (scope 404, bad input 400), four eyes,
the appeal window and finalisation, appeal rulings, withdrawals, the resident's view, and
the file export."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.credit import services
from healthcode.credit.models import CreditOutboxMessage, DishonestyRecord
from healthcode.credit.tests.conftest import final_record, resident_code
from healthcode.testing import AdminApiClient, ApiClient

pytestmark = pytest.mark.django_db

FLAG = {
    "what": "隐瞒湖北旅居史",
    "fields": ["returned_from_elsewhere"],
    "evidence": "铁路购票记录。",
}


def test_it_flags_a_code_in_scope_with_the_id_number_encrypted(reviewer, subject_code):
    """A reviewer of the district flags a code (201): the record holds the name, the ID number
    encrypted (never in clear in the row) with the code's blind index, the default legal
    basis, and the flag is audited."""
    response = AdminApiClient(reviewer).post(
        "/admin/credit/records", {**FLAG, "code": str(subject_code.public_id)}
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "flagged" and "第三条" in data["legal_basis"]
    record = DishonestyRecord.objects.get(public_id=data["id"])
    number = record.id_number()
    assert number not in record.id_number_encrypted
    assert record.id_number_index == subject_code.id_number_index
    assert data["id_number"] != number
    assert AuditRecord.objects.filter(action="credit_flag", subject_id=str(record.pk)).exists()


def test_it_hides_codes_outside_the_scope(other_district_admin, reviewer, subject_code, flagged):
    """Another district's admin cannot flag the code, nor confirm or withdraw its record: 404."""
    client = AdminApiClient(other_district_admin)
    body = {**FLAG, "code": str(subject_code.public_id)}
    assert client.post("/admin/credit/records", body).status_code == 404
    assert (
        client.post(
            f"/admin/credit/records/{flagged.public_id}/confirm", {"approve": True}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/admin/credit/records/{flagged.public_id}/withdraw", {"reason": "x"}
        ).status_code
        == 404
    )
    assert client.get("/admin/credit/records").json() == []
    assert (
        AdminApiClient(reviewer)
        .post("/admin/credit/records/not-a-uuid/confirm", {"approve": True})
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"what": " "}, "what"),
        ({"fields": []}, "fields"),
        ({"fields": ["favourite_colour"]}, "fields"),
        ({"evidence": ""}, "evidence"),
        ({"what": "x" * 2001}, "what"),
    ],
)
def test_it_refuses_bad_input(reviewer, subject_code, body, field):
    """Bad input → 400 naming the field, nothing written."""
    response = AdminApiClient(reviewer).post(
        "/admin/credit/records", {**FLAG, **body, "code": str(subject_code.public_id)}
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not DishonestyRecord.objects.exists()


def test_it_needs_four_eyes(flagger, reviewer, flagged):
    """The one who flagged cannot confirm (403 four_eyes); another reviewer can, which opens
    the appeal window of HEALTHCODE_CREDIT_APPEAL_DAYS; a second decision is 409."""
    own = AdminApiClient(flagger).post(
        f"/admin/credit/records/{flagged.public_id}/confirm", {"approve": True}
    )
    assert own.status_code == 403 and own.json()["error"] == "four_eyes"
    before = timezone.now()
    ok = AdminApiClient(reviewer).post(
        f"/admin/credit/records/{flagged.public_id}/confirm", {"approve": True}
    )
    assert ok.status_code == 200
    flagged.refresh_from_db()
    assert flagged.status == "confirmed" and flagged.confirmed_by == reviewer
    assert flagged.appeal_deadline - before >= timedelta(days=15)
    assert flagged.appeal_deadline - before < timedelta(days=15, minutes=1)
    again = AdminApiClient(reviewer).post(
        f"/admin/credit/records/{flagged.public_id}/confirm", {"approve": False}
    )
    assert again.status_code == 409


def test_it_rejects_a_flag(reviewer, flagged):
    """The second official may reject: the record is closed and never queued."""
    response = AdminApiClient(reviewer).post(
        f"/admin/credit/records/{flagged.public_id}/confirm", {"approve": False}
    )
    assert response.json()["status"] == "rejected"
    services.finalise_due_records(timezone.now() + timedelta(days=30))
    assert not CreditOutboxMessage.objects.exists()


def test_it_finalises_only_after_the_window_without_an_open_appeal(settings, reviewer, flagged):
    """Confirmed records become final (and queued) once the window passed; an open appeal
    holds them until the ruling: upheld → final and queued."""
    settings.HEALTHCODE_CREDIT_APPEAL_DAYS = 3
    now = timezone.now()
    services.confirm_record(approver=reviewer, record=flagged, approve=True, now=now)
    assert services.finalise_due_records(now + timedelta(days=2)) == 0
    services.mark_appeal_filed(record=flagged)
    assert services.finalise_due_records(now + timedelta(days=4)) == 0
    services.record_appeal_ruling(record=flagged, upheld=True)
    flagged.refresh_from_db()
    assert flagged.status == "final"
    message = flagged.messages.get()
    assert (message.kind, message.sequence) == ("record", 1)
    assert "id_number" not in message.payload["person"]  # never stored in clear


def test_it_overturns_on_appeal_and_withdraws_a_delivered_record(reviewer, flagger, subject_code):
    """An appeal granted after delivery overturns the record and queues a withdrawal; one
    granted before the window closed queues nothing."""
    delivered = final_record(subject_code, flagger, reviewer)
    CreditOutboxMessage.objects.update(status="delivered")
    DishonestyRecord.objects.filter(pk=delivered.pk).update(status="delivered")
    services.record_appeal_ruling(record=delivered, upheld=False)
    delivered.refresh_from_db()
    assert delivered.status == "overturned"
    assert list(delivered.messages.values_list("kind", "sequence")) == [
        ("record", 1),
        ("withdrawal", 2),
    ]

    pending = services.flag_false_declaration(
        reviewer=flagger, code=subject_code, what="x", fields=["temperature"], evidence="y"
    )
    services.confirm_record(approver=reviewer, record=pending, approve=True)
    services.mark_appeal_filed(record=pending)
    services.record_appeal_ruling(record=pending, upheld=False)
    assert not pending.messages.exists()


def test_it_withdraws_through_the_api(reviewer, flagger, subject_code):
    """Withdrawing a queued record queues a withdrawal after it; a reason is required (400);
    withdrawing twice is 409."""
    record = final_record(subject_code, flagger, reviewer)
    client = AdminApiClient(reviewer)
    url = f"/admin/credit/records/{record.public_id}/withdraw"
    assert client.post(url, {"reason": " "}).status_code == 400
    response = client.post(url, {"reason": "证据有误。"})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert list(record.messages.values_list("kind", flat=True)) == ["record", "withdrawal"]
    assert client.post(url, {"reason": "再次"}).status_code == 409


def test_it_shows_residents_their_records_with_the_deadline(
    reviewer, flagged, subject_holder, resident
):
    """The holder sees the confirmed record with its appeal deadline; another resident sees
    nothing; a flag not yet confirmed is not shown."""
    client = ApiClient(subject_holder)
    assert client.get("/me/credit-records").json() == []
    services.confirm_record(approver=reviewer, record=flagged, approve=True)
    mine = client.get("/me/credit-records").json()
    assert [r["id"] for r in mine] == [str(flagged.public_id)]
    assert mine[0]["appeal_deadline"] is not None and mine[0]["status"] == "confirmed"
    assert ApiClient(resident).get("/me/credit-records").json() == []
    assert ApiClient().get("/me/credit-records").status_code == 401


def test_it_exports_jsonl_and_csv(tmp_path, reviewer, flagger, subject_code):
    """The export writes every queued message (records and withdrawals) with the person's ID
    number, as JSON Lines or CSV, filtered by --since, and is audited."""
    record = final_record(subject_code, flagger, reviewer)
    services.withdraw_record(actor=reviewer, record=record, reason="证据有误。")
    out = io.StringIO()
    call_command("export_credit_records", "--format", "jsonl", stdout=out, stderr=io.StringIO())
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["type"], x["sequence"]) for x in lines] == [
        ("dishonesty_record", 1),
        ("withdrawal", 2),
    ]
    assert lines[0]["person"]["id_number"] == record.id_number()

    target = tmp_path / "credit.csv"
    call_command(
        "export_credit_records", "--format", "csv", "--output", str(target), stderr=io.StringIO()
    )
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["type"] for r in rows] == ["dishonesty_record", "withdrawal"]
    assert rows[0]["id_number"] == record.id_number()

    later = (timezone.localdate() + timedelta(days=40)).isoformat()
    out = io.StringIO()
    call_command("export_credit_records", "--since", later, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    assert AuditRecord.objects.filter(action="credit_export").count() == 3


def test_it_delivers_from_the_command(settings, reviewer, flagger, subject_code):
    """`deliver_credit_outbox` runs one round and reports counts (no endpoint: nothing sent)."""
    settings.HEALTHCODE_CREDIT_ENDPOINT = ""
    resident_code(777)
    out = io.StringIO()
    call_command("deliver_credit_outbox", stdout=out)
    assert "delivered=0" in out.getvalue()


def test_it_notifies_the_resident_on_confirmation(reviewer, flagged, subject_holder):
    """Confirmation puts a `dishonesty_record` message in the holder's message centre."""
    from healthcode.notifications.models import Notification

    services.confirm_record(approver=reviewer, record=flagged, approve=True)
    assert Notification.objects.filter(recipient=subject_holder, kind="dishonesty_record").exists()
