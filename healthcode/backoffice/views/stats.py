"""The statistics dashboard (统计) at /backoffice/stats: five charts drawn in the browser by
stats.js (ECharts, Chinese locale) from the `/api/v1/admin/stats/...` calls, each with a data
table rendered here from the same selectors (for readers without the charts, and for tests).

A figure links to the roster with its filter: colour × district → `?district=&color=`, colour ×
industry → `?industry=&color=`, a trend line → `?color=`; report submission links to the
enterprises' report overview of the day. Any account with a back-office role may open the page
(`@backoffice_required`) and sees its own scope (see healthcode.backoffice.statistics); a
reviewer reads its district's figures without links, as the roster is not for reviewers.

Query parameters (all optional): `days` for the trend (1–90, default 30), `checkin_days` for
check-in completion (1–90, default 14), `day` for report submission (YYYY-MM-DD, default
today). A bad value is shown next to its field and the default is used.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from healthcode.accounts.permissions import oversees_enterprises
from healthcode.backoffice import statistics
from healthcode.backoffice.auth import backoffice_required


def _link(base: str, **params: Any) -> str:
    return f"{base}?{urlencode(params)}" if params else base


def _param(request: HttpRequest, name: str, default: Any, clean: Any, errors: dict) -> Any:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    try:
        return clean(raw, field=name)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        return default


def _with_color_links(data: dict[str, Any], roster: str, key: str, param: str) -> dict[str, Any]:
    """Each row gets one cell per colour linking to the roster with the row's filter and the
    colour, and a link for its total (no links when `roster` is empty)."""
    rows = []
    for row in data["rows"]:
        cells = [
            {
                "color": c["code"],
                "count": row[c["code"]],
                "url": _link(roster, **{param: row[key], "color": c["code"]}) if roster else "",
            }
            for c in data["colors"]
        ]
        url = _link(roster, **{param: row[key]}) if roster else ""
        rows.append({**row, "cells": cells, "url": url})
    return {**data, "rows": rows}


@backoffice_required
@require_GET
def stats(request: HttpRequest) -> TemplateResponse:
    """The dashboard of the account's scope."""
    errors: dict[str, list[str]] = {}
    days = _param(request, "days", statistics.TREND_DAYS, statistics.clean_days, errors)
    checkin_days = _param(
        request, "checkin_days", statistics.CHECKIN_DAYS, statistics.clean_days, errors
    )
    day: date = _param(request, "day", timezone.localdate(), statistics.clean_day, errors)

    user = request.user
    # The roster and the report overview are for the authorities that oversee enterprises;
    # for a reviewer the figures are not links.
    linked = oversees_enterprises(user)
    roster = reverse("backoffice:roster") if linked else ""
    reports_page = reverse("enterprises:oversight_reports") if linked else ""
    trend = statistics.daily_trend(user, days)
    context = {
        "errors": errors,
        "days": days,
        "checkin_days": checkin_days,
        "day": day,
        "max_days": statistics.MAX_DAYS,
        "roster_url": roster,
        "reports_url": _link(reports_page, day=day.isoformat()) if linked else "",
        "by_district": _with_color_links(
            statistics.colour_by_district(user), roster, "district", "district"
        ),
        "by_industry": _with_color_links(
            statistics.colour_by_industry(user), roster, "industry", "industry"
        ),
        "trend": trend,
        "trend_links": [
            {**c, "url": _link(roster, color=c["code"]) if roster else ""} for c in trend["colors"]
        ],
        "checkins": statistics.checkin_completion(user, checkin_days),
        "reports": statistics.report_submission(user, day),
        "api": {
            "district": reverse("api:admin_stats_by_district"),
            "industry": reverse("api:admin_stats_by_industry"),
            "trend": _link(reverse("api:admin_stats_trend"), days=days),
            "checkins": _link(reverse("api:admin_stats_checkins"), days=checkin_days),
            "reports": _link(reverse("api:admin_stats_reports"), day=day.isoformat()),
        },
    }
    return TemplateResponse(request, "backoffice/stats_page.html", context)


urlpatterns = [
    path("stats", stats, name="stats"),
]
