"""/livez, /readyz (and /healthz, SPEC §9): what probes and load balancers see."""

from __future__ import annotations

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from healthcode.ops import views

pytestmark = pytest.mark.django_db


def test_it_answers_livez_without_touching_the_database(django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        r = Client().get("/livez")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/metrics"])
def test_it_refuses_to_post_to_probes(path: str) -> None:
    assert Client().post(path).status_code == 405


def test_it_is_ready_when_the_database_answers_and_is_migrated() -> None:
    r = Client().get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    assert r["Cache-Control"].startswith("max-age=0")


def test_it_is_not_ready_with_a_migration_unapplied(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server started on new code before `migrate` ran says so (and keeps checking)."""
    monkeypatch.setattr(views, "_migrations_applied", False)
    MigrationRecorder.Migration.objects.filter(app="jobs").order_by("-id").first().delete()
    r = Client().get("/readyz")
    assert r.status_code == 503
    assert r.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "failed: RuntimeError"},
    }


def test_it_checks_redis_when_it_is_the_cache(redis_cache: str) -> None:
    r = Client().get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "migrations": "ok", "cache": "ok"}


def test_it_names_redis_when_it_does_not_answer(dead_redis_cache: str) -> None:
    r = Client().get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "cache": "failed: ConnectionError",
    }
    # The URL (and any password in it) stays out of the answer.
    assert "127.0.0.1" not in r.content.decode()


@pytest.mark.parametrize("path", ["/livez", "/readyz"])
def test_it_sends_the_security_headers_on_probes(path: str) -> None:
    r = Client().get(path)
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in r["Content-Security-Policy"]


def test_it_answers_probes_over_plain_http_when_https_is_enforced(settings) -> None:
    """The TLS redirect is for browsers; probes talk to the app server directly."""
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/readyz").status_code == 200
    assert Client().get("/codes/new").status_code == 301
