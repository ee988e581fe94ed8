"""Back-office pages under /backoffice/: each part's views module lists its own URLs."""

from __future__ import annotations

from healthcode.backoffice.views import (
    accounts,
    audit,
    enterprises,
    lists,
    reviews,
    roster,
    rulesets,
    stats,
)

app_name = "backoffice"

urlpatterns = [
    *accounts.urlpatterns,
    *enterprises.urlpatterns,
    *reviews.urlpatterns,
    *lists.urlpatterns,
    *roster.urlpatterns,
    *stats.urlpatterns,
    *rulesets.urlpatterns,
    *audit.urlpatterns,
]
