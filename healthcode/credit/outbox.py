"""Delivery of the credit outbox to the public credit information platform.

`deliver_due(now)` sends due messages as signed HTTP POSTs, strictly in order per person: a
person's message n+1 is never sent before message n is delivered (a failed message blocks the
person's later ones until an admin retries it). Each request carries:

- the JSON body (the stored payload plus the ID number decrypted from the record);
- `Idempotency-Key`: the message's key, the same on every retry;
- `X-Timestamp`: when this attempt was made (ISO 8601);
- `X-Signature: sha256=<hex HMAC-SHA256 of the body>` with
  HEALTHCODE_CREDIT_HMAC_KEY (NAME or NAME_FILE).

A 2xx answer counts only with a JSON acknowledgement `{"received": <idempotency key>}` and,
when HEALTHCODE_CREDIT_ACK_HMAC_KEY is set, `"signature": <hex HMAC-SHA256 of the key>`; a
forged or replayed acknowledgement is a failure. Failures retry with exponential back-off
(HEALTHCODE_CREDIT_BACKOFF_SECONDS × 2^(attempts−1), at most 6 hours) until
HEALTHCODE_CREDIT_MAX_ATTEMPTS, then the message is failed and listed for admins.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.credit.choices import MessageKind, MessageStatus, RecordStatus
from healthcode.credit.models import CreditOutboxMessage
from healthcode.lib.env import envsecret

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


def _secret(name: str) -> str:
    """A setting if configured, else the environment (NAME or NAME_FILE)."""
    value = getattr(settings, name, None)
    return value if value else envsecret(name)


def endpoint() -> str:
    return getattr(settings, "HEALTHCODE_CREDIT_ENDPOINT", "") or ""


def max_attempts() -> int:
    return int(getattr(settings, "HEALTHCODE_CREDIT_MAX_ATTEMPTS", 8))


def backoff(attempts: int) -> timedelta:
    base = int(getattr(settings, "HEALTHCODE_CREDIT_BACKOFF_SECONDS", 60))
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def sign(key: str, data: bytes) -> str:
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def body_of(message: CreditOutboxMessage) -> bytes:
    """The exact bytes sent (and exported): the payload with the ID number added."""
    payload: dict[str, Any] = json.loads(json.dumps(message.payload))
    payload.setdefault("person", {})["id_number"] = message.record.id_number()
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


@dataclass
class Result:
    ok: bool
    error: str = ""
    receipt: Any = None


def _check_ack(message: CreditOutboxMessage, raw: bytes) -> Result:
    try:
        ack = json.loads(raw.decode() or "null")
    except (ValueError, UnicodeDecodeError):
        return Result(False, "acknowledgement is not JSON")
    key = str(message.idempotency_key)
    if not isinstance(ack, dict) or ack.get("received") != key:
        return Result(False, "acknowledgement does not name this message", ack)
    ack_key = _secret("HEALTHCODE_CREDIT_ACK_HMAC_KEY")
    if ack_key:
        signature = ack.get("signature")
        if not isinstance(signature, str) or not hmac.compare_digest(
            signature, sign(ack_key, key.encode())
        ):
            return Result(False, "acknowledgement signature is not valid", ack)
    return Result(True, receipt=ack)


def send(message: CreditOutboxMessage, now: datetime) -> Result:
    """One attempt: POST the message and judge the platform's answer."""
    url = endpoint()
    key = _secret("HEALTHCODE_CREDIT_HMAC_KEY")
    if not url or not key:
        return Result(False, "HEALTHCODE_CREDIT_ENDPOINT or HEALTHCODE_CREDIT_HMAC_KEY not set")
    body = body_of(message)
    stamp = now.isoformat()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": str(message.idempotency_key),
            "X-Timestamp": stamp,
            "X-Signature": "sha256=" + sign(key, body),
        },
    )
    timeout = float(getattr(settings, "HEALTHCODE_CREDIT_TIMEOUT_SECONDS", 10))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read(65536)
            status = response.status
    except urllib.error.HTTPError as exc:
        return Result(False, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Result(False, f"{type(exc).__name__}: {exc}")
    if not 200 <= status < 300:
        return Result(False, f"HTTP {status}")
    return _check_ack(message, raw)


def _heads(now: datetime) -> list[int]:
    """The first undelivered message of each person, if it is pending and due."""
    undelivered = CreditOutboxMessage.objects.exclude(status=MessageStatus.DELIVERED).order_by(
        "person_index", "sequence"
    )
    heads: list[int] = []
    seen: set[str] = set()
    for pk, person, status, due in undelivered.values_list(
        "pk", "person_index", "status", "next_attempt_at"
    ):
        if person in seen:
            continue
        seen.add(person)
        if status == MessageStatus.PENDING and due <= now:
            heads.append(pk)
    return heads


def _attempt(pk: int, now: datetime) -> bool:
    """Send one message under a row lock (a second worker skips it). True when delivered."""
    with transaction.atomic():
        locked = (
            CreditOutboxMessage.objects.select_for_update(skip_locked=True)
            .select_related("record")
            .filter(pk=pk, status=MessageStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if locked is None:
            return False
        result = send(locked, now)
        locked.attempts += 1
        if result.ok:
            locked.status = MessageStatus.DELIVERED
            locked.delivered_at = now
            locked.acknowledged_receipt = result.receipt
            locked.last_error = ""
            if locked.kind == MessageKind.RECORD and locked.record.status == RecordStatus.FINAL:
                locked.record.status = RecordStatus.DELIVERED
                locked.record.delivered_at = now
                locked.record.save(update_fields=["status", "delivered_at"])
        else:
            locked.last_error = result.error[:1000]
            if locked.attempts >= max_attempts():
                locked.status = MessageStatus.FAILED
                audit(
                    action=AuditAction.CREDIT_DELIVERY_FAILED,
                    subject=locked,
                    detail={"attempts": locked.attempts, "error": locked.last_error},
                )
            else:
                locked.next_attempt_at = now + backoff(locked.attempts)
            log.warning("credit outbox message %s: %s", locked.pk, result.error)
        locked.save()
        return result.ok


def deliver_due(now: datetime | None = None) -> dict[str, int]:
    """One delivery round: for each person, send their due messages in sequence order,
    stopping at the first that is not delivered. Returns counts."""
    now = now or timezone.now()
    counts = {"delivered": 0, "failed_attempts": 0}
    if not endpoint():
        return counts
    for pk in _heads(now):
        current: int | None = pk
        while current is not None:
            if not _attempt(current, now):
                counts["failed_attempts"] += 1
                break
            counts["delivered"] += 1
            message = CreditOutboxMessage.objects.get(pk=current)
            following = (
                CreditOutboxMessage.objects.filter(
                    person_index=message.person_index, sequence__gt=message.sequence
                )
                .order_by("sequence")
                .values_list("pk", "status", "next_attempt_at")
                .first()
            )
            current = None
            if following and following[1] == MessageStatus.PENDING and following[2] <= now:
                current = following[0]
    return counts
