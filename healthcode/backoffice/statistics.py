"""Statistics of the management system (统计): the figures behind the dashboard's charts and
the `/api/v1/admin/stats/...` calls.

Every selector starts from the permissions module's scope — `codes_in_scope(user)` for codes,
`enterprises_in_scope(user)` for enterprises — and never widens it; and every one is a fixed,
small number of set-based aggregate queries, whatever the number of codes (GROUP BY in the
database, never a loop over codes in Python). They return plain data (dicts, lists, ints,
dates) that the API serialises and the page renders.

Who sees what follows from the scopes: a city admin the whole city; a district admin and a
reviewer the codes of their district (reviewers read the statistics of the district they
review; they oversee no enterprises, so their report chart is empty); an industry admin the
codes of the employees of the enterprises its department supervises, and those enterprises.

Two choices worth knowing:

- **Colour × industry** counts the codes in scope that have an active employment at an
  approved enterprise, by that enterprise's GB/T 4754 section. A code employed in two
  sections counts once in each (so the sections can add up to more than the codes); twice in
  one section, once.
- **The daily trend** is the number of codes of each colour *at the end of each day*,
  reconstructed backwards from today's counts and the colour-change history (`ColorChange`):
  the end of day D is the end of day D+1 minus the changes of day D+1. Two queries, whose cost
  grows with the changes inside the window, not with the population. Codes are counted by
  today's scope (a code that moved district counts where it is now), and a code whose history
  has no first row (data loaded without the declaration service) counts as if it had always
  had its colour. Each day also carries the number of changes *to* each colour that day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import codes_in_scope, enterprises_in_scope
from healthcode.checkins.models import CheckIn
from healthcode.codes.choices import Color
from healthcode.codes.models import ColorChange, HealthCode
from healthcode.enterprises import industries
from healthcode.enterprises.choices import EnterpriseStatus
from healthcode.enterprises.models import DailyReport, Employee
from healthcode.regions import services as regions

if TYPE_CHECKING:
    from healthcode.accounts.models import User

COLORS: tuple[str, ...] = (Color.GREEN, Color.YELLOW, Color.RED)
MAX_DAYS = 90
TREND_DAYS = 30
CHECKIN_DAYS = 14


# --- Helpers -------------------------------------------------------------------------------------


def clean_days(value: Any, *, field: str = "days") -> int:
    """A number of days between 1 and MAX_DAYS, or ValidationError naming `field`."""
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            {field: [_("统计天数应为 1 到 %(max)d 之间的整数。") % {"max": MAX_DAYS}]}
        )
    return days


def clean_day(value: Any, *, field: str = "day") -> date:
    """A day given as YYYY-MM-DD, or ValidationError naming `field`."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError({field: [_("日期格式应为 YYYY-MM-DD，例如 2020-02-21。")]}) from None


def _lang() -> str:
    return get_language() or "zh-hans"


def _zero() -> dict[str, int]:
    return dict.fromkeys(COLORS, 0)


def color_legend() -> list[dict[str, str]]:
    """The colours in chart order with their names in the current language."""
    return [{"code": c, "label": str(Color(c).label)} for c in COLORS]


def _groupable(scope: QuerySet[HealthCode]) -> QuerySet[HealthCode]:
    """The codes in scope as a queryset safe to GROUP BY: the scopes that join employments
    are DISTINCT, and grouping those would count a code once per joined row, so they become
    a primary-key subquery."""
    if scope.query.distinct:
        return HealthCode.objects.filter(pk__in=scope.values("pk"))
    return scope


def _district_label(code: str, lang: str) -> str:
    """The short name of a district for a chart axis (青秀区 / Qingxiu District)."""
    region = regions.get_region(code)
    if region is None:
        return code
    if lang.lower().startswith("en") and region.name_en:
        return region.name_en
    return region.name


def _by_district_order(codes: Any) -> list[str]:
    """District codes in the order of `nanning_districts()` (districts and counties, then
    development zones), anything else after them by code."""
    order = {r.code: i for i, r in enumerate(regions.nanning_districts())}
    return sorted(codes, key=lambda code: (order.get(code, len(order)), code))


def _district(code: str, lang: str) -> dict[str, str]:
    return {
        "district": code,
        "label": _district_label(code, lang),
        "name": regions.describe(code, lang),
    }


def _with_total(counts: dict[str, int]) -> dict[str, int]:
    return {**counts, "total": sum(counts[c] for c in COLORS)}


def _totals(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: sum(r[k] for r in rows) for k in keys}


def _percent(done: int, total: int) -> float | None:
    return round(100 * done / total, 1) if total else None


def _day_list(days: int, now: datetime | None) -> list[date]:
    today = timezone.localdate(now or timezone.now())
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


# --- Codes by colour × district -----------------------------------------------------------------


def colour_by_district(user: User) -> dict[str, Any]:
    """Codes in scope by district and colour: one GROUP BY query. Districts in the order of
    `nanning_districts()` (districts and counties, then development zones); only districts
    with at least one code in scope appear."""
    lang = _lang()
    counts: dict[str, dict[str, int]] = {}
    grouped = (
        _groupable(codes_in_scope(user))
        .order_by()
        .values("district_id", "color")
        .annotate(n=Count("pk"))
    )
    for row in grouped:
        counts.setdefault(row["district_id"], _zero())[row["color"]] = row["n"]
    rows = [
        {**_district(code, lang), **_with_total(counts[code])}
        for code in _by_district_order(counts)
    ]
    return {
        "colors": color_legend(),
        "rows": rows,
        "totals": _totals(rows, (*COLORS, "total")),
    }


# --- Codes by colour × industry -----------------------------------------------------------------


def colour_by_industry(user: User) -> dict[str, Any]:
    """Codes in scope linked through an active employment at an approved enterprise, by the
    enterprise's industry section (GB/T 4754) and colour: one GROUP BY query (distinct codes
    per section and colour). Sections in code order (A–T); only those with codes appear."""
    lang = _lang()
    counts: dict[str, dict[str, int]] = {}
    grouped = (
        Employee.objects.filter(
            active=True,
            enterprise__status=EnterpriseStatus.APPROVED,
            code_id__in=codes_in_scope(user).values("pk"),
        )
        .order_by()
        .values("enterprise__industry", "code__color")
        .annotate(n=Count("code_id", distinct=True))
    )
    for row in grouped:
        counts.setdefault(row["enterprise__industry"], _zero())[row["code__color"]] = row["n"]
    sections = industries.sections()
    departments = industries.departments()
    rows = []
    for code in sorted(counts):
        section = sections.get(code)
        department = departments.get(section.department) if section else None
        rows.append(
            {
                "industry": code,
                "name": section.name(lang) if section else code,
                "department": section.department if section else "",
                "department_name": department.name(lang) if department else "",
                **_with_total(counts[code]),
            }
        )
    return {
        "colors": color_legend(),
        "rows": rows,
        "totals": _totals(rows, (*COLORS, "total")),
    }


# --- Daily colour trend -------------------------------------------------------------------------


def daily_trend(
    user: User, days: int = TREND_DAYS, *, now: datetime | None = None
) -> dict[str, Any]:
    """For each of the last `days` days (today last), the number of codes in scope of each
    colour at the end of the day (today: now), and the number of changes to each colour that
    day (a new code counts as a change to its first colour). Reconstructed backwards from the
    current counts and the colour changes inside the window: two queries. See the module
    docstring for what this assumes."""
    days = clean_days(days)
    now = now or timezone.now()
    day_list = _day_list(days, now)
    scope = codes_in_scope(user)

    current = _zero()
    for row in _groupable(scope).order_by().values("color").annotate(n=Count("pk")):
        current[row["color"]] = row["n"]

    # Only real colour changes move the counts; a change of reasons alone keeps the colour.
    changes = (
        ColorChange.objects.filter(
            code_id__in=scope.values("pk"), at__gte=_start_of(day_list[0]), at__lte=now
        )
        .exclude(color_from=F("color_to"))
        .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day", "color_from", "color_to")
        .annotate(n=Count("pk"))
    )
    delta: dict[date, dict[str, int]] = {d: _zero() for d in day_list}
    changed_to: dict[date, dict[str, int]] = {d: _zero() for d in day_list}
    for row in changes:
        day = row["day"]
        if day not in delta:
            continue
        if row["color_to"] in COLORS:
            delta[day][row["color_to"]] += row["n"]
            changed_to[day][row["color_to"]] += row["n"]
        if row["color_from"] in COLORS:
            delta[day][row["color_from"]] -= row["n"]

    rows: list[dict[str, Any]] = []
    state = dict(current)
    for day in reversed(day_list):
        rows.append({"day": day, **state, "changes": changed_to[day]})
        state = {c: state[c] - delta[day][c] for c in COLORS}
    rows.reverse()
    return {
        "colors": color_legend(),
        "days": days,
        "method": "end_of_day",
        "rows": rows,
    }


# --- Check-in completion ------------------------------------------------------------------------


def checkin_completion(
    user: User, days: int = CHECKIN_DAYS, *, now: datetime | None = None
) -> dict[str, Any]:
    """For each of the last `days` days (today last): the codes in scope that existed at the
    end of the day, how many of them have that day's check-in (a scan at an enterprise makes
    one too), and the share in percent (null when there are no codes). Two queries: one
    aggregate with a filtered count per day, and the check-ins grouped by day."""
    days = clean_days(days)
    day_list = _day_list(days, now)
    scope = codes_in_scope(user)
    existing = _groupable(scope).aggregate(
        **{
            f"d{i}": Count("pk", filter=Q(created_at__lt=_start_of(day + timedelta(days=1))))
            for i, day in enumerate(day_list)
        }
    )
    checked = {
        row["day"]: row["n"]
        for row in CheckIn.objects.filter(
            code_id__in=scope.values("pk"), day__gte=day_list[0], day__lte=day_list[-1]
        )
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))  # one check-in per code and day (a unique constraint)
    }
    rows = []
    for i, day in enumerate(day_list):
        total = existing[f"d{i}"] or 0
        done = checked.get(day, 0)
        rows.append(
            {"day": day, "codes": total, "checked_in": done, "percent": _percent(done, total)}
        )
    return {"days": days, "rows": rows}


# --- Enterprise report submission ---------------------------------------------------------------


def report_submission(user: User, day: date | None = None) -> dict[str, Any]:
    """The approved enterprises in scope by district: how many have submitted the day's report
    (每日上报; default today) and how many have not. One GROUP BY query."""
    lang = _lang()
    day = day or timezone.localdate()
    has_reported = Exists(DailyReport.objects.filter(enterprise=OuterRef("pk"), day=day))
    grouped = (
        enterprises_in_scope(user)
        .filter(status=EnterpriseStatus.APPROVED)
        .order_by()
        .values("district_id")
        # The EXISTS goes straight into the filter (see enterprises.reports): an aggregate
        # over an annotation of the same name can lose it in Django's subquery wrapping.
        .annotate(n_total=Count("pk"), n_reported=Count("pk", filter=Q(has_reported)))
    )
    counts = {row["district_id"]: (row["n_total"], row["n_reported"]) for row in grouped}
    rows = []
    for code in _by_district_order(counts):
        total, reported = counts[code]
        rows.append(
            {
                **_district(code, lang),
                "reported": reported,
                "not_reported": total - reported,
                "total": total,
                "percent": _percent(reported, total),
            }
        )
    totals = _totals(rows, ("reported", "not_reported", "total"))
    totals["percent"] = _percent(totals["reported"], totals["total"])
    return {"day": day, "rows": rows, "totals": totals}
