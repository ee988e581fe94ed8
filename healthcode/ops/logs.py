"""Structured logs: the JSON formatter and the request id carried by every record.

Records are JSON lines: time (UTC, ISO 8601), level, logger, message, process, the request id
of the request being served (when there is one) and the record's `extra` fields. Django's own
`request` extra (the request object, whose repr holds the query string) is left out.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# The id of the request this thread is serving (set by healthcode.ops.middleware).
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record logged while a request is served, and to Django's
    records about a request (django.request logs 4xx/5xx responses after the middleware has
    returned, with the request in the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = request_id_var.get() or getattr(
                getattr(record, "request", None), "request_id", None
            )
            if request_id is not None:
                record.request_id = request_id
        return True


class JsonFormatter(_JsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message", "process"],
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, "request", "server_time"],
            timestamp="time",
        )
