"""Security headers on every kind of response (issue 5, item 6): pages, the API and errors
carry the Content-Security-Policy and the browser hardening headers; HSTS goes out on HTTPS."""

from __future__ import annotations

import pytest
from django.test import Client

from healthcode.testing import ApiClient

PATHS = ["/", "/accounts/login/", "/api/v1/schema", "/api/v1/codes", "/no-such-page/"]


@pytest.mark.parametrize("path", PATHS)
def test_it_sends_the_security_headers(db, path):
    """Every response forbids framing and sniffing, keeps the referrer on the site, and holds
    a CSP without inline or eval'd scripts."""
    response = Client().get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = dict(
        (part.split(" ", 1) + [""])[:2] for part in response["Content-Security-Policy"].split("; ")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data: blob:"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in policy["script-src"]


def test_it_sends_the_policy_on_resident_pages(resident):
    """A logged-in resident's code page (the page with the QR code) carries the policy too."""
    client = Client()
    client.force_login(resident)
    response = client.get("/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_it_sends_hsts_on_https_only(db, settings):
    """With HSTS configured, HTTPS responses carry it and plain HTTP ones do not."""
    settings.SECURE_HSTS_SECONDS = 31536000
    assert Client().get("/api/v1/schema", secure=True)["Strict-Transport-Security"].startswith(
        "max-age=31536000"
    )
    assert "Strict-Transport-Security" not in Client().get("/api/v1/schema")


def test_it_ends_sessions_with_the_browser_and_after_the_configured_age(resident, settings):
    """The session cookie is a browser-session cookie (no Max-Age) and the server-side session
    expires after SESSION_COOKIE_AGE."""
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    client = Client()
    client.force_login(resident)
    response = client.get("/")
    assert client.session.get_expire_at_browser_close()
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert response.status_code == 200


def test_it_answers_api_errors_with_the_headers_too(db):
    """An API error (401 JSON) is no exception."""
    response = ApiClient().get("/codes")
    assert response.status_code == 401
    assert "Content-Security-Policy" in response


def test_it_allows_the_camera_only_to_this_origin(client):
    """Permissions-Policy: the scanner may use this origin's camera; no other device."""
    response = client.get("/healthz")
    assert response["Permissions-Policy"].startswith("camera=(self)")
    assert "microphone=()" in response["Permissions-Policy"]
