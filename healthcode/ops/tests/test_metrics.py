"""/metrics: Prometheus text for the monitoring's bearer token only, labels bounded."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token"


@pytest.fixture
def token(settings) -> str:
    settings.HEALTHCODE_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert r.status_code == 200, r.status_code
    assert r["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.content.decode())
        for s in family.samples
    }


def requests_total(samples: dict, route: str, method: str, status: str) -> float:
    key = ("healthcode_http_requests_total",
           (("method", method), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


def test_it_hides_metrics_when_no_token_is_configured(settings) -> None:
    settings.HEALTHCODE_METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN]
)
def test_it_hides_metrics_without_the_right_bearer_token(token: str, header: str | None) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    assert Client().get("/metrics", **extra).status_code == 404


def test_it_counts_requests_by_route_name_method_and_status_class(token: str) -> None:
    before = scrape()
    client = Client()
    client.get("/livez")
    client.get("/livez")
    client.get("/api/v1/codes/C0DE-THAT-IS-NOT-THERE")  # 401: no login
    client.get("/no/such/page")
    after = scrape()
    assert requests_total(after, "livez", "GET", "2xx") - requests_total(before, "livez", "GET", "2xx") == 2
    assert requests_total(after, "api:get_code", "GET", "4xx") - requests_total(
        before, "api:get_code", "GET", "4xx"
    ) == 1
    assert requests_total(after, "unmatched", "GET", "4xx") - requests_total(
        before, "unmatched", "GET", "4xx"
    ) == 1
    # Labels are names, never raw paths with ids in them.
    assert not any("C0DE" in value for _name, labels in after for _k, value in labels)


def test_it_times_requests_in_a_histogram(token: str) -> None:
    before = scrape()
    Client().get("/livez")
    after = scrape()
    key = ("healthcode_http_request_duration_seconds_count", (("method", "GET"), ("route", "livez")))
    assert after[key] - before.get(key, 0.0) == 1


def test_it_folds_unknown_methods_into_one_label(token: str) -> None:
    before = scrape()
    assert Client().generic("BREW", "/livez").status_code == 405
    after = scrape()
    assert requests_total(after, "livez", "other", "4xx") - requests_total(
        before, "livez", "other", "4xx"
    ) == 1


def test_it_sends_the_security_headers_with_metrics(token: str) -> None:
    r = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in r["Content-Security-Policy"]
