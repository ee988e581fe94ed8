"""Pages of the credit app."""

from __future__ import annotations

app_name = "credit"

urlpatterns: list = []
