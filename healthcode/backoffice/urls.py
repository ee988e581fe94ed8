"""Back-office pages under /backoffice/ (the management system grows here)."""

from __future__ import annotations

app_name = "backoffice"

urlpatterns: list = []
