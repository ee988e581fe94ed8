"""Request ids and the one JSON log line per request, without query strings."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from django.test import Client

from healthcode.ops.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the production handler would print: JSON lines with request ids."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    request_logger = logging.getLogger("healthcode.request")
    level = request_logger.level
    request_logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        request_logger.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_it_echoes_the_callers_request_id() -> None:
    r = Client().get("/livez", HTTP_X_REQUEST_ID="edge-7f3a.42")
    assert r["X-Request-ID"] == "edge-7f3a.42"


@pytest.mark.parametrize("incoming", [None, "", "has spaces", "x" * 129, "新的"])
def test_it_makes_a_request_id_when_there_is_none_or_it_is_odd(incoming: str | None) -> None:
    extra = {"HTTP_X_REQUEST_ID": incoming} if incoming is not None else {}
    r = Client().get("/livez", **extra)
    assert re.fullmatch(r"[0-9a-f]{32}", r["X-Request-ID"])


def test_it_logs_one_json_line_per_request_without_the_query_string(log_lines) -> None:
    Client().get("/livez?phone=13800138000&token=abc", HTTP_X_REQUEST_ID="req-1")
    lines = [line for line in parsed(log_lines) if line["logger"] == "healthcode.request"]
    assert len(lines) == 1
    line = lines[0]
    assert {k: line[k] for k in ("level", "method", "path", "route", "status", "request_id")} == {
        "level": "INFO",
        "method": "GET",
        "path": "/livez",
        "route": "livez",
        "status": 200,
        "request_id": "req-1",
    }
    assert isinstance(line["duration_ms"], float)
    assert "time" in line and "process" in line
    assert "13800138000" not in log_lines.getvalue()
    assert "token" not in log_lines.getvalue()


def test_it_puts_the_request_id_on_the_other_records_of_the_request(log_lines) -> None:
    """Django's "Not Found" warning carries the request id, and not the request (whose repr
    has the query string)."""
    Client().get("/no/such/page?id_number=450103199003071234", HTTP_X_REQUEST_ID="req-2")
    warnings = [line for line in parsed(log_lines) if line["logger"] == "django.request"]
    assert len(warnings) == 1
    assert warnings[0]["request_id"] == "req-2"
    assert warnings[0]["status_code"] == 404
    assert "request" not in warnings[0]
    assert "450103199003071234" not in log_lines.getvalue()


def test_it_logs_outside_requests_without_a_request_id(log_lines) -> None:
    logging.getLogger("healthcode.test").warning("no request here")
    (line,) = parsed(log_lines)
    assert line["message"] == "no request here"
    assert "request_id" not in line
