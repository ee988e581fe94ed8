"""The audit log's hash chain: each record carries the SHA-256 of its own content and of the
record before it, so that changing, inserting or removing a row anywhere (even by raw SQL,
bypassing the application) breaks the chain from there on and `verify_audit_chain` finds it."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection

# Any constant shared by every app server: the PostgreSQL advisory lock that serialises appends.
CHAIN_LOCK_ID = 0x48430A0D17
GENESIS = "0" * 64


def _ip(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return ipaddress.ip_address(str(value)).compressed
    except ValueError:
        return str(value)


def _at(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(
    *,
    prev_hash: str,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: Any,
    ip: Any,
) -> bytes:
    """The bytes a record's hash covers: a JSON array with sorted keys and no spaces, so the
    same record gives the same bytes on every database and Python version."""
    payload = [
        prev_hash,
        _at(at),
        actor_id,
        str(action),
        subject_type or "",
        subject_id or "",
        detail if detail is not None else {},
        _ip(ip),
    ]
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def record_hash(**fields: Any) -> str:
    """The hex SHA-256 of `canonical(**fields)`."""
    return hashlib.sha256(canonical(**fields)).hexdigest()


def lock_chain() -> None:
    """Serialise appends to the chain until the current transaction ends. On PostgreSQL an
    advisory transaction lock; SQLite's write transaction (BEGIN IMMEDIATE, see settings)
    already admits one writer at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification: how many records were checked and the first broken
    link (the record's id and what is wrong), if any."""

    checked: int
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _rows(batch_size: int) -> Iterator[tuple[Any, ...]]:
    from healthcode.audit.models import AuditRecord

    fields = (
        "id", "at", "actor_id", "actor_ref", "action", "subject_type", "subject_id",
        "detail", "ip", "prev_hash", "hash",
    )  # fmt: skip
    last = 0
    while True:
        batch = list(
            AuditRecord.objects.filter(id__gt=last).order_by("id").values_list(*fields)[:batch_size]
        )
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def verify_chain(*, batch_size: int = 2000) -> ChainReport:
    """Recompute every record's hash in id order and check it links to the one before."""
    prev = GENESIS
    checked = 0
    for pk, at, actor_id, actor_ref, action, stype, sid, detail, ip, prev_hash, digest in _rows(
        batch_size
    ):
        if prev_hash != prev:
            return ChainReport(checked, pk, "prev_hash does not match the previous record's hash")
        # The actor link is cleared when an account is deleted; any other change is tampering.
        if actor_id is not None and actor_id != actor_ref:
            return ChainReport(checked, pk, "actor differs from the actor recorded in the chain")
        expected = record_hash(
            prev_hash=prev_hash,
            at=at,
            actor_id=actor_ref,
            action=action,
            subject_type=stype,
            subject_id=sid,
            detail=detail,
            ip=ip,
        )
        if digest != expected:
            return ChainReport(checked, pk, "hash does not match the record's content")
        prev = digest
        checked += 1
    return ChainReport(checked)
