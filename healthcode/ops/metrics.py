"""Prometheus metrics of the app servers, served at /metrics (healthcode.ops.views).

Labels are bounded: the route is the resolved URL name (`api:scan`, `front:code`), never the
raw path; the method is one of the standard ones or `other`; the status is its class (2xx…).
Under gunicorn, PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py) makes every worker write its
samples to files there, and a scrape merges all workers' files.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "healthcode_http_requests",
    "HTTP requests answered, by route name, method and status class.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "healthcode_http_request_duration_seconds",
    "Time from the first middleware receiving the request to the response, by route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe(*, route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    REQUESTS.labels(route, method, f"{status // 100}xx").inc()
    LATENCY.labels(route, method).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric (every worker's, in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
