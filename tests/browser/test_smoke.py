"""The browser machinery works: Chromium reaches the live server and gets the health check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_it_serves_healthz(page: Page, screenshot: Callable[[str], Path]) -> None:
    """/healthz answers 200 with {"status": "ok"} when the database is up."""
    response = page.goto("/healthz")
    assert response is not None
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}
    assert screenshot("healthz").stat().st_size > 0
