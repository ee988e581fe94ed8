"""The audit log is append-only."""

from __future__ import annotations

import pytest

from healthcode.audit.models import AppendOnlyError, AuditRecord
from healthcode.audit.services import audit

pytestmark = pytest.mark.django_db


def test_it_appends_records():
    record = audit(action="login", detail={"x": 1}, ip="127.0.0.1")
    assert AuditRecord.objects.get().detail == {"x": 1}
    assert record.actor is None


def test_it_refuses_changes_and_deletions():
    record = audit(action="login")
    record.detail = {"tampered": True}
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().update(action="scan")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().detail == {}
