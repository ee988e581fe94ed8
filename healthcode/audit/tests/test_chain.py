"""The audit log's hash chain and `manage.py verify_audit_chain`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from healthcode.audit.chain import GENESIS, verify_chain
from healthcode.audit.models import AppendOnlyError, AuditRecord
from healthcode.audit.services import audit
from healthcode.testing import make_user

pytestmark = pytest.mark.django_db


def _three_records():
    user = make_user("13800009001")
    audit(action="login", actor=user, detail={"method": "sms_otp", "n": 1.5}, ip="127.0.0.1")
    audit(action="scan", detail={"names": ["赵*刚"], "nested": {"b": 1, "a": [1, 2]}}, ip="::1")
    audit(action="logout", actor=user)
    return user, list(AuditRecord.objects.order_by("id"))


def test_it_links_each_record_to_the_one_before():
    """Every record carries the previous record's hash; the first links to the genesis."""
    _, records = _three_records()
    assert records[0].prev_hash == GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert all(len(r.hash) == 64 for r in records)
    assert verify_chain().ok


def test_it_verifies_an_intact_chain_from_the_command():
    """The command prints how many records it verified and exits normally."""
    _three_records()
    out = StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert "3 records verified" in out.getvalue()


def test_it_detects_a_row_changed_by_raw_sql():
    """A detail rewritten behind the application's back is found: the command names the
    record and exits with a non-zero status."""
    _, records = _three_records()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditrecord SET detail = %s WHERE id = %s",
            ['{"names": ["someone else"]}', records[1].pk],
        )
    report = verify_chain()
    assert report.broken_id == records[1].pk
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit_chain", stdout=StringIO())
    assert excinfo.value.returncode == 1
    assert str(records[1].pk) in str(excinfo.value)


def test_it_detects_a_removed_row_and_a_changed_actor():
    """Deleting a record breaks the next link; pointing a record at another actor is found."""
    user, records = _three_records()
    other = make_user("13800009002")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditrecord SET actor_id = %s WHERE id = %s", [other.pk, records[0].pk]
        )
    assert verify_chain().broken_id == records[0].pk
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditrecord SET actor_id = %s WHERE id = %s", [user.pk, records[0].pk]
        )
        cursor.execute("DELETE FROM audit_auditrecord WHERE id = %s", [records[1].pk])
    assert verify_chain().broken_id == records[2].pk


def test_it_keeps_the_chain_intact_when_an_actor_account_is_deleted():
    """Deleting an account clears the actor link (the one allowed change) and the chain still
    verifies, because it covers the actor id as written."""
    user, records = _three_records()
    user.delete()
    assert AuditRecord.objects.filter(actor__isnull=False).count() == 0
    assert AuditRecord.objects.get(pk=records[0].pk).actor_ref == records[0].actor_ref
    assert verify_chain().ok


def test_it_still_refuses_other_changes_and_bulk_inserts():
    """Only clearing the actor is allowed; other updates and bulk inserts are refused."""
    _three_records()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().update(action="scan", actor=None)
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.bulk_create([AuditRecord(action="login")])
