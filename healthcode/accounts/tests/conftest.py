"""Fixtures for the accounts tests: SMS kept in memory (or in a file), and a clock to move."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from healthcode.accounts import sms


class Clock:
    """Stands in for django.utils.timezone.now so that tests move time instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def locmem_sms(settings: object) -> Iterator[list[dict[str, str]]]:
    settings.HEALTHCODE_SMS_BACKEND = "locmem"  # type: ignore[attr-defined]
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def sms_file(settings: object, tmp_path: Path) -> Path:
    path = tmp_path / "sms.jsonl"
    settings.HEALTHCODE_SMS_BACKEND = "file"  # type: ignore[attr-defined]
    settings.HEALTHCODE_SMS_FILE = str(path)  # type: ignore[attr-defined]
    return path


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", c)
    return c


def code_from(text: str) -> str:
    match = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", text)
    assert match, text
    return match.group(1)


def last_code(phone: str) -> str:
    """The code in the latest in-memory SMS to `phone`."""
    texts = [m["text"] for m in sms.outbox if m["to"] == phone]
    assert texts, f"no SMS to {phone}"
    return code_from(texts[-1])


def last_code_in_file(path: Path, phone: str) -> str:
    """The code in the latest SMS to `phone` in a file-backend log, as the browser test reads it."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    texts = [m["text"] for m in lines if m["to"] == phone]
    assert texts, f"no SMS to {phone}"
    return code_from(texts[-1])
