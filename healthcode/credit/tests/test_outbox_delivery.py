"""The credit outbox against a real HTTP server on 127.0.0.1 (the Done-when of issue 5): every
record arrives exactly once, in order per person, with a valid signature, although the
platform fails the first attempts; forged acknowledgements are retried; a message that keeps
failing ends failed and is listed for admins."""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone

from healthcode.credit import services
from healthcode.credit.models import CreditOutboxMessage
from healthcode.credit.outbox import deliver_due
from healthcode.credit.tests.conftest import final_record, resident_code
from healthcode.testing import AdminApiClient

pytestmark = pytest.mark.django_db


def after_window():
    """A moment after `final_record` made its records final (16 days from now)."""
    return timezone.now() + timedelta(days=17)


def run_until_done(rounds: int = 40) -> None:
    """Delivery rounds with a fake clock jumping past every back-off."""
    now = after_window()
    for _ in range(rounds):
        deliver_due(now)
        if not CreditOutboxMessage.objects.filter(status="pending").exists():
            return
        now += timedelta(hours=7)


def test_it_delivers_every_record_once_in_order_per_person_signed(
    credit_platform, flagger, reviewer
):
    """3 records of person A, 2 of person B and a withdrawal of one of A's: with the first two
    attempts of every message failing, each message is accepted exactly once (every 2xx
    counted), A's and B's messages in their sequence order, each body signed correctly."""
    code_a = resident_code(501, name="甲某")
    code_b = resident_code(502, name="乙某")
    a_records = [final_record(code_a, flagger, reviewer, what=f"A 第{i}条") for i in range(3)]
    [final_record(code_b, flagger, reviewer, what=f"B 第{i}条") for i in range(2)]
    services.withdraw_record(actor=reviewer, record=a_records[1], reason="证据有误。")

    run_until_done()

    messages = list(CreditOutboxMessage.objects.all())
    assert len(messages) == 6
    assert all(m.status == "delivered" for m in messages)
    assert all(m.attempts == 3 for m in messages)

    accepted_keys = [e["key"] for e in credit_platform.accepted]
    assert sorted(accepted_keys) == sorted(str(m.idempotency_key) for m in messages)
    assert len(accepted_keys) == len(set(accepted_keys))  # exactly once each
    assert all(e["signature_ok"] for e in credit_platform.requests)

    per_person: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for entry in credit_platform.accepted:
        body = entry["body"]
        per_person[body["person"]["id_number"]].append((body["sequence"], body["type"]))
    a_number, b_number = a_records[0].id_number(), code_b.dishonesty_records.first().id_number()
    assert per_person[a_number] == [
        (1, "dishonesty_record"),
        (2, "dishonesty_record"),
        (3, "dishonesty_record"),
        (4, "withdrawal"),
    ]
    assert per_person[b_number] == [(1, "dishonesty_record"), (2, "dishonesty_record")]
    # Never a later message of a person before an earlier one was accepted, retries included.
    for number in (a_number, b_number):
        seen = [
            e["body"]["sequence"]
            for e in credit_platform.requests
            if e["body"]["person"]["id_number"] == number
        ]
        assert seen == sorted(seen)
    for record in a_records:
        record.refresh_from_db()
    assert [r.status for r in a_records] == ["delivered", "withdrawn", "delivered"]
    withdrawal = CreditOutboxMessage.objects.get(kind="withdrawal")
    assert withdrawal.record == a_records[1]
    assert withdrawal.acknowledged_receipt["received"] == str(withdrawal.idempotency_key)


def test_it_retries_a_forged_or_replayed_acknowledgement(
    credit_platform, flagger, reviewer, subject_code
):
    """A 200 whose acknowledgement names another message (replayed) or carries a wrong
    signature (forged) is a failed attempt; the message stays pending and is retried."""
    record = final_record(subject_code, flagger, reviewer)
    message = record.messages.get()
    credit_platform.fail_first = 0
    acks = iter(
        [
            lambda key: {"received": "00000000-0000-0000-0000-000000000000", "signature": "x"},
            lambda key: {"received": key, "signature": "0" * 64},
            lambda key: {"received": key},  # no signature while one is required
        ]
    )

    def ack(key: str) -> dict:
        try:
            return next(acks)(key)
        except StopIteration:
            sig = hmac.new(b"test-platform-ack-key", key.encode(), hashlib.sha256).hexdigest()
            return {"received": key, "signature": sig}

    credit_platform.ack = ack
    now = after_window()
    deliver_due(now)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)
    assert "does not name" in message.last_error
    assert message.next_attempt_at == now + timedelta(seconds=60)
    deliver_due(now + timedelta(seconds=30))  # not due yet: nothing sent
    assert len(credit_platform.requests) == 1
    deliver_due(now + timedelta(minutes=1))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 2)
    assert "signature" in message.last_error
    assert message.next_attempt_at == now + timedelta(minutes=1) + timedelta(seconds=120)
    deliver_due(now + timedelta(hours=1))
    deliver_due(now + timedelta(hours=2))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 4)
    record.refresh_from_db()
    assert record.status == "delivered"


def test_it_fails_after_max_attempts_and_lists_it_for_admins(
    credit_platform, settings, flagger, reviewer, city_admin, subject_code
):
    """A platform that always fails: after HEALTHCODE_CREDIT_MAX_ATTEMPTS the message is
    failed, later messages of the person wait behind it, admins see it (API and page), and a
    city admin's retry sends it again."""
    settings.HEALTHCODE_CREDIT_MAX_ATTEMPTS = 3
    credit_platform.fail_first = 10**6
    first = final_record(subject_code, flagger, reviewer)
    final_record(subject_code, flagger, reviewer, what="第二条")
    run_until_done()
    message = first.messages.get()
    assert (message.status, message.attempts) == ("failed", 3)
    second = CreditOutboxMessage.objects.get(sequence=2)
    assert (second.status, second.attempts) == ("pending", 0)  # never sent before the first
    assert {e["body"]["sequence"] for e in credit_platform.requests} == {1}

    listed = AdminApiClient(reviewer).get("/admin/credit/outbox?status=failed")
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()] == [message.pk]
    assert listed.json()[0]["last_error"] == "HTTP 500"

    from healthcode.testing import backoffice_client

    page = backoffice_client(reviewer).get("/credit/admin")
    assert page.status_code == 200
    assert f'id="message-{message.pk}"' in page.content.decode()

    credit_platform.fail_first = 0
    assert (
        AdminApiClient(reviewer).post(f"/admin/credit/outbox/{message.pk}/retry", {}).status_code
        == 403
    )
    retried = AdminApiClient(city_admin).post(f"/admin/credit/outbox/{message.pk}/retry", {})
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    run_until_done()
    assert set(CreditOutboxMessage.objects.values_list("status", flat=True)) == {"delivered"}


def test_it_sends_nothing_without_an_endpoint(settings, flagger, reviewer, subject_code):
    """No endpoint configured: messages stay pending for the export (no error)."""
    settings.HEALTHCODE_CREDIT_ENDPOINT = ""
    record = final_record(subject_code, flagger, reviewer)
    assert deliver_due() == {"delivered": 0, "failed_attempts": 0}
    assert record.messages.get().status == "pending"
