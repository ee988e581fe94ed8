"""Sending SMS through a pluggable backend chosen by settings.HEALTHCODE_SMS_BACKEND.

- "console": prints each message to stdout (development).
- "file": appends one JSON line {"to", "text", "sent_at"} per message to
  settings.HEALTHCODE_SMS_FILE, like Django's file-based e-mail backend (development, tests,
  the browser tests read the login code from it).
- "locmem": keeps messages in `outbox` (in-process tests).
- anything else: the dotted path of a class whose instances have `send(to, text)`; a real
  provider's adapter lives there and raises on failure.

Settings are read at every call, never at import time, so tests can override them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

try:  # POSIX; elsewhere appends are not locked (single-process development only)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


class SmsBackend(Protocol):
    def send(self, to: str, text: str) -> None: ...


class ConsoleBackend:
    """Prints each message to stdout."""

    def send(self, to: str, text: str) -> None:
        stream = sys.stdout  # looked up per call so that captured stdout is honoured
        stream.write(f"[SMS] to {to} at {timezone.now().isoformat()}: {text}\n")
        stream.flush()


class FileBackend:
    """Appends one JSON line per message; an exclusive lock keeps concurrent writers' lines whole."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path or settings.HEALTHCODE_SMS_FILE)

    def send(self, to: str, text: str) -> None:
        line = json.dumps(
            {"to": to, "text": text, "sent_at": timezone.now().isoformat()}, ensure_ascii=False
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                f.write(line + "\n")
                f.flush()
            finally:
                if fcntl is not None:
                    fcntl.flock(f.fileno(), fcntl.LOCK_UN)


outbox: list[dict[str, str]] = []


class LocmemBackend:
    """Keeps messages in `healthcode.accounts.sms.outbox` (cleared by tests as they need)."""

    def send(self, to: str, text: str) -> None:
        outbox.append({"to": to, "text": text, "sent_at": timezone.now().isoformat()})


_BUILTIN: dict[str, type[SmsBackend]] = {
    "console": ConsoleBackend,
    "file": FileBackend,
    "locmem": LocmemBackend,
}


def get_backend() -> SmsBackend:
    """The backend named by settings.HEALTHCODE_SMS_BACKEND, instantiated for this call."""
    name = settings.HEALTHCODE_SMS_BACKEND
    if name in _BUILTIN:
        return _BUILTIN[name]()
    if "." not in name:
        raise ImproperlyConfigured(
            f"HEALTHCODE_SMS_BACKEND={name!r}: use console, file, locmem or a dotted class path"
        )
    try:
        backend_class = import_string(name)
    except ImportError as exc:
        raise ImproperlyConfigured(f"HEALTHCODE_SMS_BACKEND={name!r} cannot be imported") from exc
    return backend_class()


def send_sms(to: str, text: str) -> None:
    """Send one SMS; the backend raises if the message could not be handed over."""
    get_backend().send(to, text)
