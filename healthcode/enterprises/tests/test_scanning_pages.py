"""The scanner's pages: /enterprises/scan (choose) and /enterprises/<id>/scan."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from healthcode.enterprises.models import Enterprise
from healthcode.testing import credit_code

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("persona", ["scanner", "manager", "co_manager"])
def test_it_shows_the_scanner_page_to_the_enterprises_scanners(request, persona, acme):
    """The page carries the ids the browser test and scanner.js rely on, the enterprise and
    the API as data attributes, and loads jsQR and scanner.js from our own static files
    (no inline script)."""
    user = request.getfixturevalue(persona)
    r = client_for(user).get(f"/enterprises/{acme.pk}/scan")
    assert r.status_code == 200
    html = r.content.decode()
    for element in [
        "scanner", "qr-image", "payload", "verify", "scan-result", "verdict", "scan-color",
        "scan-name", "temperature", "record", "attendance-result", "start-camera",
    ]:  # fmt: skip
        assert f'id="{element}"' in html, element
    assert 'accept="image/*"' in html and 'capture="environment"' in html
    assert f'data-enterprise="{acme.pk}"' in html
    assert 'data-scan-url="/api/v1/scans"' in html
    assert 'name="symptoms" value="fever"' in html
    assert acme.name in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" and "src=" in attrs for attrs, body in scripts)
    assert "enterprises/vendor/jsQR.js" in html and "enterprises/scanner.js" in html
    assert "cdn" not in html.lower()


def test_it_serves_the_vendored_jsqr_with_its_licence():
    """jsQR is vendored from npm (no CDN), with its licence and provenance beside it."""
    jsqr = finders.find("enterprises/vendor/jsQR.js")
    assert jsqr and "jsQR" in open(jsqr, encoding="utf-8").read(2000)
    licence = finders.find("enterprises/vendor/jsQR.LICENSE")
    assert licence and "Apache License" in open(licence, encoding="utf-8").read()
    readme = finders.find("enterprises/vendor/README.md")
    assert readme and "jsqr@1.4.0" in open(readme, encoding="utf-8").read()
    assert finders.find("enterprises/scanner.js")


@pytest.mark.parametrize(
    "persona", ["employee", "resident", "other_manager", "district_admin", "city_admin"]
)
def test_it_refuses_the_page_without_scan_permission(request, persona, acme, globex):
    """An approved enterprise the account may not scan for: 403, as the API answers."""
    user = request.getfixturevalue(persona)
    assert client_for(user).get(f"/enterprises/{acme.pk}/scan").status_code == 403


def test_it_answers_404_for_unknown_or_pending_enterprises(manager, acme):
    """No such approved enterprise: 404, even for the manager of a pending one."""
    pending = Enterprise.objects.create(
        name="待审核企业", credit_code=credit_code(9), district_id="450103", industry="C",
        department="gxj", address="某路", contact_name="王", contact_phone=manager.phone,
        status="pending", registered_by=manager,
    )  # fmt: skip
    client = client_for(manager)
    assert client.get(f"/enterprises/{pending.pk}/scan").status_code == 404
    assert client.get("/enterprises/999999/scan").status_code == 404


def test_it_sends_anonymous_visitors_to_log_in(acme):
    """Anonymous: redirected to the login page."""
    r = client_for(None).get(f"/enterprises/{acme.pk}/scan")
    assert r.status_code == 302
    assert "/accounts/login" in r["Location"]
    r = client_for(None).get("/enterprises/scan")
    assert r.status_code == 302


def test_it_lists_the_enterprises_an_account_may_scan_for(scanner, acme, globex):
    """The choose page links to the scanner page of each enterprise the account may scan for."""
    html = client_for(scanner).get("/enterprises/scan").content.decode()
    assert f'href="/enterprises/{acme.pk}/scan"' in html
    assert globex.name not in html


@pytest.mark.parametrize("persona", ["employee", "resident"])
def test_it_says_so_when_the_account_may_scan_nowhere(request, persona, acme):
    """Without scan permission anywhere, the choose page says how to get it."""
    user = request.getfixturevalue(persona)
    r = client_for(user).get("/enterprises/scan")
    assert r.status_code == 200
    assert 'id="no-scan-permission"' in r.content.decode()


def test_it_refuses_posts_to_the_pages(scanner, acme):
    """The pages are read-only; recording goes through the API."""
    client = client_for(scanner)
    assert client.post(f"/enterprises/{acme.pk}/scan").status_code == 405
    assert client.post("/enterprises/scan").status_code == 405
