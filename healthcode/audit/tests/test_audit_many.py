"""Appending many audit records at once (audit_many): linked into the hash chain in order,
between records appended one by one, so that the chain verifies and a change is found."""

from __future__ import annotations

import pytest
from django.db import connection

from healthcode.audit import chain
from healthcode.audit.models import AppendOnlyError, AuditRecord
from healthcode.audit.services import audit, audit_many
from healthcode.testing import make_user

pytestmark = pytest.mark.django_db


def test_it_links_a_batch_into_the_chain_between_single_records():
    """Records appended one by one before and after a batch, the batch in the given order:
    every record links to the one before it by id, and the chain verifies."""
    user = make_user("13800009101")
    audit(action="login", actor=user, detail={"method": "sms_otp"}, ip="127.0.0.1")
    appended = audit_many(
        [
            {
                "action": "color_change",
                "actor": user,
                "subject_type": "codes.healthcode",
                "subject_id": str(n),
                "detail": {"from": "yellow", "to": "green", "rules": ("sweep", n)},
            }
            for n in range(5)
        ]
        + [{"action": "notification", "subject": user, "detail": {"sms": True}, "ip": "::1"}]
    )
    audit(action="logout", actor=user)
    assert appended == 6
    records = list(AuditRecord.objects.order_by("id"))
    assert len(records) == 8
    assert records[0].prev_hash == chain.GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert [r.subject_id for r in records[1:6]] == ["0", "1", "2", "3", "4"]
    assert records[1].detail["rules"] == ["sweep", 0]  # stored (and hashed) as JSON gives it
    assert (records[6].subject_type, records[6].subject_id) == ("accounts.user", str(user.pk))
    assert records[6].ip == "::1"
    assert {r.actor_ref for r in records[1:6]} == {user.pk}
    report = chain.verify_chain(batch_size=3)
    assert report.ok and report.checked == 8


def test_it_hashes_a_batch_as_records_appended_one_by_one():
    """Each record's hash is the hash of its own content and the record before it, as for a
    record appended alone."""
    audit_many([{"action": "scan", "detail": {"n": n}} for n in range(3)])
    for record in AuditRecord.objects.order_by("id"):
        assert record.hash == chain.record_hash(
            prev_hash=record.prev_hash,
            at=record.at,
            actor_id=None,
            action="scan",
            subject_type="",
            subject_id="",
            detail=record.detail,
            ip=None,
        )


def test_it_finds_a_changed_record_of_a_batch():
    """A record of a batch rewritten behind the application's back breaks the chain there."""
    audit_many([{"action": "scan", "detail": {"n": n}} for n in range(4)])
    third = AuditRecord.objects.order_by("id")[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditrecord SET detail = %s WHERE id = %s", ['{"n": 99}', third.pk]
        )
    assert chain.verify_chain().broken_id == third.pk


def test_it_appends_nothing_for_no_records_and_stays_append_only():
    """An empty batch writes nothing; bulk_create stays closed; saved records cannot be
    appended again."""
    assert audit_many([]) == 0
    assert not AuditRecord.objects.exists()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.bulk_create([AuditRecord(action="login")])
    audit(action="login")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.append_many(list(AuditRecord.objects.all()))
    assert AuditRecord.objects.count() == 1
