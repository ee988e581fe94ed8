"""Back-office pages under /backoffice/ (the management system grows here)."""

from __future__ import annotations

from healthcode.backoffice.views import urlpatterns_views

app_name = "backoffice"

urlpatterns: list = [*urlpatterns_views]
