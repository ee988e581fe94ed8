"""Enterprise pages under /enterprises/: each part's views module lists its own URLs."""

from __future__ import annotations

from healthcode.enterprises.views import core, io, reports, scanning

app_name = "enterprises"

urlpatterns = [*core.urlpatterns, *io.urlpatterns, *scanning.urlpatterns, *reports.urlpatterns]
