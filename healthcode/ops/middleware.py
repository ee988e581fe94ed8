"""One middleware, first in the chain, for what operations needs of every request: a request
id (the caller's X-Request-ID when it looks like one, else a new one; echoed in the response and
put on every log record of the request), the request's metrics, and one log line.

The log line holds the method, the path without its query string (where tokens and search
terms travel), the route name, the status, the duration and the request id; never a header,
a body or the query string.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from healthcode.ops import metrics
from healthcode.ops.logs import request_id_var

logger = logging.getLogger("healthcode.request")

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_LOGGED_PATH = 256


def route_name(request: HttpRequest) -> str:
    """The resolved URL's name: a bounded label for metrics (not the path, which holds ids)."""
    match = request.resolver_match
    if match is not None:
        return match.view_name or match.route or "unnamed"
    if request.path_info.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


class RequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            seconds = time.perf_counter() - start
            route = route_name(request)
            metrics.observe(
                route=route, method=request.method or "", status=response.status_code, seconds=seconds
            )
            logger.info(
                "%s %s %s",
                request.method,
                route,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path[:MAX_LOGGED_PATH],
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            return response
        finally:
            request_id_var.reset(token)
