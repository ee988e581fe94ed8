"""schemathesis against the API's own OpenAPI schema (issue 5, item 7): every operation, a few
generated requests each, as a resident and as a city admin. No answer may be a server error,
and every answer must match the schema (status code documented, body of the documented shape).

Bounded and repeatable: a handful of examples per operation, derandomised, no deadline. The
requests go through Django's WSGI handler in-process, inside the test's database transaction.
Every failure of every operation is collected first, so one run lists them all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from healthcode.accounts.models import TokenScope
from healthcode.accounts.services import issue_api_token

EXAMPLES = 5
# Account deletion would end the resident's own session for every later operation; its owner's
# tests cover it.
SKIPPED_FOR_RESIDENT = frozenset({("POST", "/api/v1/me/delete")})
bounded = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def exercise(operation: Any, headers: dict[str, str]) -> None:
    """EXAMPLES generated requests to one operation; raises on the first failed check."""

    @bounded
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    check()


def run_all(token: Callable[[], str], skipped: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """Every operation of the schema, EXAMPLES generated requests each with a fresh token from
    `token` (an operation may revoke it: logout); the failures, one line per operation."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application())
    failures: list[str] = []
    count = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in skipped:
            continue
        count += 1
        headers = {"Authorization": f"Bearer {token()}"}

        try:
            exercise(operation, headers)
        except Exception as exc:  # noqa: BLE001 — collected and reported all together below
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert count > 50, "the schema lists fewer operations than the API has"
    return failures


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """Django's WSGI handler closes the database connection at the start and end of every
    request (close_old_connections); that would close the test's own transaction on
    PostgreSQL. Django's test client turns the same handlers off for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_it_survives_schemathesis_as_a_resident(resident):
    """As a resident (bearer token): no 5xx and only documented answers on every operation."""
    failures = run_all(lambda: issue_api_token(user=resident), SKIPPED_FOR_RESIDENT)
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_it_survives_schemathesis_as_a_city_admin(city_admin):
    """As a city admin (back-office token): no 5xx and only documented answers on every
    operation."""
    failures = run_all(lambda: issue_api_token(user=city_admin, scope=TokenScope.BACKOFFICE))
    assert not failures, "\n\n".join(failures)
