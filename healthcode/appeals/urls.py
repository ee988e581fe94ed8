"""Pages of the appeals app."""

from __future__ import annotations

app_name = "appeals"

urlpatterns: list = []
