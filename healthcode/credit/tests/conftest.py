"""Personas and subjects for the credit tests, beside the shared enterprise personas:

- `reviewer` and `flagger` review 青秀区 (450103); `other_district_admin` administers 兴宁区
  (450102); `other_reviewer` reviews 兴宁区;
- `subject_code`: a 青秀区 resident's code (holder `subject_holder`), the target of records;
- `flagged`: a record `flagger` flagged on `subject_code`;
- `credit_platform`: a real HTTP server on 127.0.0.1 standing in for the credit platform.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from healthcode.backoffice.models import AdminRole
from healthcode.codes import services as code_services
from healthcode.codes.models import HealthCode
from healthcode.credit import services
from healthcode.credit.models import DishonestyRecord
from healthcode.enterprises.tests.conftest import *  # noqa: F403
from healthcode.testing import declaration, id_number, make_user

HMAC_KEY = "test-credit-hmac-key"
ACK_KEY = "test-platform-ack-key"


def admin(phone: str, kind: str, district: str | None = None):
    user = make_user(phone)
    AdminRole.objects.create(user=user, kind=kind, district_id=district)
    return user


def resident_code(seq: int, *, district: str = "450103", name: str = "钱小红") -> HealthCode:
    user = make_user(f"1390000{seq:04d}")
    data = declaration(name=name, id_number=id_number(seq=seq), district=district)
    return code_services.declare(account=user, data=data)


def final_record(code: HealthCode, flagger: Any, approver: Any, what: str = "隐瞒湖北旅居史"):
    """A record flagged, confirmed and past its appeal window: final, queued for delivery."""
    now = timezone.now()
    record = services.flag_false_declaration(
        reviewer=flagger,
        code=code,
        what=what,
        fields=["returned_from_elsewhere"],
        evidence="铁路购票记录显示 2020-02-01 自武汉返邕。",
        now=now,
    )
    services.confirm_record(approver=approver, record=record, approve=True, now=now)
    services.finalise_due_records(now + timedelta(days=16))
    record.refresh_from_db()
    return record


@pytest.fixture
def reviewer(db):
    return admin("13800000201", "reviewer", "450103")


@pytest.fixture
def flagger(db):
    return admin("13800000204", "reviewer", "450103")


@pytest.fixture
def other_district_admin(db):
    return admin("13800000203", "district_admin", "450102")


@pytest.fixture
def subject_code(db) -> HealthCode:
    return resident_code(401)


@pytest.fixture
def subject_holder(subject_code):
    return subject_code.account


@pytest.fixture
def flagged(flagger, subject_code) -> DishonestyRecord:
    return services.flag_false_declaration(
        reviewer=flagger,
        code=subject_code,
        what="隐瞒湖北旅居史",
        fields=["returned_from_elsewhere", "arrival_date"],
        evidence="铁路购票记录显示 2020-02-01 自武汉返邕。",
    )


@dataclass
class Platform:
    """What the stand-in platform saw. `fail_first` attempts of each message get a 500;
    `ack` decides the acknowledgement (default: a valid one)."""

    url: str = ""
    fail_first: int = 2
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    ack: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempts_of(self, key: str) -> int:
        return sum(1 for r in self.requests if r["key"] == key)


@pytest.fixture
def credit_platform(settings) -> Iterator[Platform]:
    platform = Platform()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            key = self.headers.get("Idempotency-Key", "")
            expected = "sha256=" + hmac.new(HMAC_KEY.encode(), body, hashlib.sha256).hexdigest()
            entry = {
                "key": key,
                "body": json.loads(body),
                "signature_ok": hmac.compare_digest(self.headers.get("X-Signature", ""), expected),
                "timestamp": self.headers.get("X-Timestamp", ""),
            }
            with platform.lock:
                platform.requests.append(entry)
                attempt = platform.attempts_of(key)
            if attempt <= platform.fail_first:
                self.send_response(500)
                self.end_headers()
                return
            ack = (
                platform.ack(key)
                if platform.ack
                else {
                    "received": key,
                    "signature": hmac.new(
                        ACK_KEY.encode(), key.encode(), hashlib.sha256
                    ).hexdigest(),
                }
            )
            with platform.lock:
                platform.accepted.append(entry)  # every 2xx counts, duplicates included
            raw = json.dumps(ack).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    platform.url = f"http://127.0.0.1:{server.server_address[1]}/records"
    settings.HEALTHCODE_CREDIT_ENDPOINT = platform.url
    settings.HEALTHCODE_CREDIT_HMAC_KEY = HMAC_KEY
    settings.HEALTHCODE_CREDIT_ACK_HMAC_KEY = ACK_KEY
    settings.HEALTHCODE_CREDIT_BACKOFF_SECONDS = 60
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
