"""Health, readiness and metrics endpoints for probes, load balancers and Prometheus.

- /livez: the process answers (no database): for a supervisor that restarts hung servers.
- /healthz (healthcode.front.views, SPEC §9): 200 when the database answers.
- /readyz: ready to take traffic: the database answers, every migration is applied, and the
  cache answers when it is Redis. 503 names the check that failed.
- /metrics: Prometheus text, only for a bearer token equal to HEALTHCODE_METRICS_TOKEN;
  without the setting or the token, 404 like any unknown URL.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from healthcode.ops import metrics

logger = logging.getLogger(__name__)

# Once every migration is applied it stays so for the life of the process: checked until then.
_migrations_applied = False


@require_GET
@never_cache
def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_migrations() -> None:
    global _migrations_applied
    if _migrations_applied:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise RuntimeError("unapplied migrations")
    _migrations_applied = True


def _check_cache() -> None:
    cache.set("ops:readyz", "ok", timeout=10)
    if cache.get("ops:readyz") != "ok":
        raise RuntimeError("the cache did not keep a value")


def _checks() -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {
        "database": _check_database,
        "migrations": _check_migrations,
    }
    if settings.HEALTHCODE_REDIS_URL:
        checks["cache"] = _check_cache
    return checks


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in _checks().items():
        if name == "migrations" and results.get("database") != "ok":
            results[name] = "skipped"
            continue
        try:
            check()
        except Exception as exc:
            # The class only: messages can carry host names and credentials.
            results[name] = f"failed: {type(exc).__name__}"
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
        else:
            results[name] = "ok"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )


def _bearer(request: HttpRequest) -> str:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    expected = settings.HEALTHCODE_METRICS_TOKEN
    presented = _bearer(request)
    if not expected or not presented or not hmac.compare_digest(
        presented.encode(), expected.encode()
    ):
        raise Http404
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
