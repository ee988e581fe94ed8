"""Template context for every page: elder mode (large type) is a cookie the resident sets."""

from __future__ import annotations

from django.http import HttpRequest


def ui(request: HttpRequest) -> dict[str, object]:
    return {
        "elder_mode": request.COOKIES.get("elder") == "1",
        # Back-office pages are desktop-first tables and charts: a wider layout.
        "wide_layout": request.path.startswith("/backoffice"),
    }
