"""Live status (实时动态监控) and daily reports (每日上报) of an enterprise.

Selectors (`enterprise_status`, `draft_report`, `report_history`, `reports_in_scope`,
`report_totals_in_scope`) read with a fixed handful of set-based queries whatever the number of
employees: an enterprise may have 10,000 of them, so nothing here loops over employees with a
query each. The one write, `submit_report`, validates, writes and audits in one transaction.

Definitions used throughout:

- *employees*: the enterprise's active employees, linked to a code or still invitations;
- *key monitored persons* (重点监控类人员): employees whose linked code is yellow or red, or
  whose colour can still change by time alone (an observation period is running:
  `next_change_at` in the future);
- *abnormal health*: an employee whose check-in of the day, or an attendance record at this
  enterprise that day, has a temperature at or above the rule set's fever threshold or any
  symptom;
- colours are the codes' stored colours; the periodic sweep applies time-based changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from healthcode.accounts import permissions
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.checkins.models import CheckIn
from healthcode.codes.choices import Color
from healthcode.codes.services import rule_set_in_force
from healthcode.enterprises import industries
from healthcode.enterprises.choices import EnterpriseStatus
from healthcode.enterprises.models import (
    Attendance,
    DailyReport,
    DailyReportRevision,
    Employee,
    Enterprise,
)
from healthcode.lib.masking import mask_name, mask_phone
from healthcode.regions import services as regions

# How many abnormal or key monitored persons the dashboard lists (the counts are complete).
LIST_LIMIT = 100

# The daily report's figures, in the order pages and exports show them.
FIGURES: dict[str, Any] = {
    "employees": gettext_lazy("员工总数"),
    "on_site": gettext_lazy("今日到岗人数"),
    "returned_to_work": gettext_lazy("复工人员数"),
    "key_monitored": gettext_lazy("重点监控类人员数"),
    "abnormal_health": gettext_lazy("健康异常人数"),
    "checked_in": gettext_lazy("已健康打卡人数"),
}


def figure_label(name: str) -> str:
    return str(FIGURES[name])


# --- Building blocks ---------------------------------------------------------------------------


def _active_employees(enterprise: Enterprise) -> QuerySet[Employee]:
    return Employee.objects.filter(enterprise=enterprise, active=True)


def _fever_threshold() -> Decimal:
    """The rule set's fever threshold (37.3 °C by default) as a Decimal, to compare with the
    stored temperatures exactly."""
    return Decimal(str(rule_set_in_force().symptoms.fever_threshold))


def _percent(done: int, total: int) -> float | None:
    return round(100 * done / total, 1) if total else None


def _key_condition(now: datetime) -> Q:
    return Q(code__color__in=[Color.YELLOW, Color.RED]) | Q(code__next_change_at__gt=now)


def _counts(enterprise: Enterprise, day: date, now: datetime) -> dict[str, int]:
    """Every per-employee count in ONE aggregate query over the enterprise's active employees;
    check-ins and attendance are correlated EXISTS subqueries (indexed by code+day and
    enterprise+day), so the cost is one pass over the employees."""
    checked_in = Exists(CheckIn.objects.filter(code_id=OuterRef("code_id"), day=day))
    scanned = Exists(
        Attendance.objects.filter(enterprise=enterprise, day=day).filter(
            Q(employee_id=OuterRef("pk")) | Q(code_id=OuterRef("code_id"))
        )
    )
    linked = Q(code__isnull=False)
    return _active_employees(enterprise).aggregate(
        employees=Count("pk"),
        linked=Count("pk", filter=linked),
        green=Count("pk", filter=Q(code__color=Color.GREEN)),
        yellow=Count("pk", filter=Q(code__color=Color.YELLOW)),
        red=Count("pk", filter=Q(code__color=Color.RED)),
        unlinked=Count("pk", filter=Q(code__isnull=True)),
        returned_to_work=Count("pk", filter=Q(returned_to_work=True)),
        checked_in=Count("pk", filter=linked & Q(checked_in)),
        scanned=Count("pk", filter=linked & Q(scanned)),
        key_monitored=Count("pk", filter=linked & _key_condition(now)),
    )


@dataclass
class _Abnormal:
    code_id: int
    name: str
    temperature: Decimal
    symptoms: set[str]
    at: datetime
    sources: set[str]


def _abnormal(enterprise: Enterprise, day: date) -> list[_Abnormal]:
    """The employees with abnormal health on the day, one entry each (highest temperature,
    all symptoms, latest time), newest first. Two queries: the day's abnormal check-ins of the
    employees' codes, and the day's abnormal attendance records at this enterprise. An
    attendance record also wrote a check-in, so both are merged by code."""
    threshold = _fever_threshold()
    abnormal = Q(temperature__gte=threshold) | ~Q(symptoms=[])
    employee_codes = _active_employees(enterprise).filter(code__isnull=False).values("code_id")
    employee_name = Subquery(
        _active_employees(enterprise).filter(code_id=OuterRef("code_id")).values("name")[:1]
    )
    checkins = (
        CheckIn.objects.filter(day=day, code_id__in=employee_codes)
        .filter(abnormal)
        .annotate(employee_name=employee_name)
        .values_list("code_id", "employee_name", "temperature", "symptoms", "updated_at")
    )
    attendance = (
        Attendance.objects.filter(enterprise=enterprise, day=day, code_id__in=employee_codes)
        .filter(abnormal)
        .annotate(employee_name=employee_name)
        .values_list("code_id", "employee_name", "temperature", "symptoms", "at")
    )
    merged: dict[int, _Abnormal] = {}
    for source, rows in (("checkin", checkins), ("attendance", attendance)):
        for code_id, name, temperature, symptoms, at in rows:
            entry = merged.get(code_id)
            if entry is None:
                merged[code_id] = _Abnormal(
                    code_id, name or "", temperature, set(symptoms or ()), at, {source}
                )
                continue
            entry.temperature = max(entry.temperature, temperature)
            entry.symptoms.update(symptoms or ())
            entry.at = max(entry.at, at)
            entry.sources.add(source)
    return sorted(merged.values(), key=lambda e: (e.at, e.code_id), reverse=True)


def _symptom_labels(codes: set[str]) -> list[str]:
    from healthcode.codes.choices import Symptom

    return [str(Symptom(s).label) if s in Symptom.values else s for s in sorted(codes)]


def _first_reason(reasons: list[dict[str, Any]]) -> str:
    if not reasons:
        return ""
    lang = (get_language() or "zh-hans").lower()
    first = reasons[0]
    return (first.get("text_en") if lang.startswith("en") else first.get("text_zh")) or ""


# --- Live status --------------------------------------------------------------------------------


def enterprise_status(
    *, enterprise: Enterprise, day: date | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The enterprise's live status for the dashboard and `GET …/status`: employees by colour
    (and invitations not yet linked), returned-to-work count, the day's check-in and scan
    completion among linked employees, abnormal health and key monitored persons (counts
    complete, lists capped at LIST_LIMIT), with masked names. Four queries in all."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    counts = _counts(enterprise, day, now)
    abnormal = _abnormal(enterprise, day)
    key_rows = (
        _active_employees(enterprise)
        .filter(code__isnull=False)
        .filter(_key_condition(now))
        .order_by("-code__color_since", "pk")
        .values_list("name", "code__color", "code__reasons", "code__next_change_at")[:LIST_LIMIT]
    )
    linked = counts["linked"]
    return {
        "enterprise": {"id": enterprise.pk, "name": enterprise.name},
        "day": day,
        "generated_at": now,
        "employees": counts["employees"],
        "colors": {
            "green": counts["green"],
            "yellow": counts["yellow"],
            "red": counts["red"],
            "unlinked": counts["unlinked"],
        },
        "linked": linked,
        "returned_to_work": counts["returned_to_work"],
        "checkin": {
            "done": counts["checked_in"],
            "total": linked,
            "percent": _percent(counts["checked_in"], linked),
        },
        "scan": {
            "done": counts["scanned"],
            "total": linked,
            "percent": _percent(counts["scanned"], linked),
        },
        "abnormal": {
            "count": len(abnormal),
            "items": [
                {
                    "name": mask_name(a.name),
                    "temperature": float(a.temperature),
                    "symptoms": _symptom_labels(a.symptoms),
                    "at": a.at,
                    "sources": sorted(a.sources),
                }
                for a in abnormal[:LIST_LIMIT]
            ],
        },
        "key_monitored": {
            "count": counts["key_monitored"],
            "items": [
                {
                    "name": mask_name(name),
                    "color": color,
                    "color_label": str(Color(color).label),
                    "reason": _first_reason(reasons),
                    "observation_until": next_change_at,
                }
                for name, color, reasons, next_change_at in key_rows
            ],
        },
    }


# --- Daily reports ------------------------------------------------------------------------------


def draft_report(
    *, enterprise: Enterprise, day: date, now: datetime | None = None
) -> dict[str, int]:
    """The figures of the day's report, filled in automatically: employees, on site (scanned
    at this enterprise that day), returned to work, key monitored, abnormal health and
    checked in. Employees, returned to work and key monitored are as of now (a past day is at
    most yesterday; colours are not reconstructed)."""
    now = now or timezone.now()
    counts = _counts(enterprise, day, now)
    return {
        "employees": counts["employees"],
        "on_site": counts["scanned"],
        "returned_to_work": counts["returned_to_work"],
        "key_monitored": counts["key_monitored"],
        "abnormal_health": len(_abnormal(enterprise, day)),
        "checked_in": counts["checked_in"],
    }


def reportable_days(now: datetime | None = None) -> tuple[date, date]:
    """The days a report may be submitted for: today and yesterday."""
    today = timezone.localdate(now or timezone.now())
    return today, today - timedelta(days=1)


def _clean_figures(
    figures: dict[str, Any] | None, draft: dict[str, int], roster: int
) -> dict[str, int]:
    """The submitted figures over the draft: each given figure replaces the automatic one and
    must be a whole number from 0 to the number of employees on the roster (and the other
    figures no more than the reported number of employees)."""
    if figures is not None and not isinstance(figures, dict):
        raise ValidationError({"figures": [_("上报数字应为“名称: 数字”的对象。")]})
    errors: dict[str, list[str]] = {}
    clean = dict(draft)
    for name, value in (figures or {}).items():
        if name not in FIGURES:
            errors.setdefault("figures", []).append(
                _("没有名为“%(name)s”的上报数字；可填：%(known)s。")
                % {"name": name, "known": "、".join(FIGURES)}
            )
            continue
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        if number is None or number < 0 or number > roster:
            errors[f"figures.{name}"] = [
                _("“%(label)s”应为 0 到员工总数（%(roster)d）之间的整数。")
                % {"label": figure_label(name), "roster": roster}
            ]
            continue
        clean[name] = number
    if errors:
        raise ValidationError(errors)
    for name in FIGURES:
        if name != "employees" and clean[name] > clean["employees"]:
            errors[f"figures.{name}"] = [
                _("“%(label)s”（%(value)d）不能超过上报的员工总数（%(employees)d）。")
                % {
                    "label": figure_label(name),
                    "value": clean[name],
                    "employees": clean["employees"],
                }
            ]
    if errors:
        raise ValidationError(errors)
    return clean


@transaction.atomic
def submit_report(
    *,
    actor: Any,
    enterprise: Enterprise,
    day: date,
    figures: dict[str, Any] | None = None,
    note: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> DailyReport:
    """Submit the enterprise's daily report for today or yesterday (the caller has checked that
    `actor` manages it). The figures default to the draft; the manager may adjust any of them.
    The first submission of a day creates the report; a later one is a correction: the
    previous version is kept as a DailyReportRevision and the revision number goes up. Audited.
    Raises ValidationError, writing nothing, for a day out of range, bad figures, a note too
    long or an enterprise not yet approved."""
    now = now or timezone.now()
    # The enterprise's row lock serialises two managers submitting the same day at once.
    locked = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
    if locked.status != EnterpriseStatus.APPROVED:
        raise ValidationError({"enterprise": [_("企业通过审核后才能进行每日上报。")]})
    today, yesterday = reportable_days(now)
    if day not in (today, yesterday):
        raise ValidationError(
            {
                "day": [
                    _("只能上报今天（%(today)s）或昨天（%(yesterday)s）的情况。")
                    % {"today": today.isoformat(), "yesterday": yesterday.isoformat()}
                ]
            }
        )
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError({"note": [_("备注不能超过 500 个字。")]})
    draft = draft_report(enterprise=locked, day=day, now=now)
    roster = _active_employees(locked).count()
    clean = _clean_figures(figures, draft, roster)
    adjusted = sorted(name for name in FIGURES if clean[name] != draft[name])
    report = DailyReport.objects.filter(enterprise=locked, day=day).first()
    if report is None:
        report = DailyReport.objects.create(
            enterprise=locked,
            day=day,
            figures=clean,
            note=note,
            submitted_by=actor,
            submitted_at=now,
            revision=1,
        )
        action = AuditAction.REPORT_SUBMIT
    else:
        DailyReportRevision.objects.create(
            report=report,
            revision=report.revision,
            figures=report.figures,
            note=report.note,
            submitted_by=report.submitted_by,
            submitted_at=report.submitted_at,
        )
        report.figures = clean
        report.note = note
        report.submitted_by = actor
        report.submitted_at = now
        report.revision += 1
        report.save()
        action = AuditAction.REPORT_CORRECT
    audit(
        action=action,
        actor=actor,
        subject=report,
        ip=ip,
        detail={
            "enterprise": locked.pk,
            "day": day.isoformat(),
            "revision": report.revision,
            "figures": clean,
            "adjusted": {
                name: {"draft": draft[name], "submitted": clean[name]} for name in adjusted
            },
        },
    )
    return report


def present_report(report: DailyReport, revisions: list[DailyReportRevision] | None = None) -> dict:
    """A report as the API and pages show it; `revisions` (earlier versions, oldest first)
    when given."""
    data: dict[str, Any] = {
        "day": report.day,
        "revision": report.revision,
        "figures": report.figures,
        "note": report.note,
        "submitted_at": report.submitted_at,
        "submitted_by": _submitter(report.submitted_by),
    }
    if revisions is not None:
        data["revisions"] = [
            {
                "revision": r.revision,
                "figures": r.figures,
                "note": r.note,
                "submitted_at": r.submitted_at,
                "submitted_by": _submitter(r.submitted_by),
            }
            for r in revisions
        ]
    return data


def _submitter(user: Any) -> str:
    """Who submitted, shown as the account's masked phone."""
    return mask_phone(user.phone) if user is not None else ""


def report_history(*, enterprise: Enterprise, limit: int = 60) -> list[dict[str, Any]]:
    """The enterprise's reports, newest day first, each with its earlier revisions. Two
    queries (reports with submitters, then their revisions)."""
    reports = list(
        DailyReport.objects.filter(enterprise=enterprise)
        .select_related("submitted_by")
        .order_by("-day")[:limit]
    )
    by_report: dict[int, list[DailyReportRevision]] = {r.pk: [] for r in reports}
    for revision in (
        DailyReportRevision.objects.filter(report__in=reports)
        .select_related("submitted_by")
        .order_by("report_id", "revision")
    ):
        by_report[revision.report_id].append(revision)
    return [present_report(r, by_report[r.pk]) for r in reports]


def report_for(*, enterprise: Enterprise, day: date) -> DailyReport | None:
    return (
        DailyReport.objects.filter(enterprise=enterprise, day=day)
        .select_related("submitted_by")
        .first()
    )


# --- Authorities --------------------------------------------------------------------------------


def is_oversight_admin(user: Any) -> bool:
    return permissions.oversees_enterprises(user)


def _has_reported(day: date) -> Exists:
    return Exists(DailyReport.objects.filter(enterprise=OuterRef("pk"), day=day))


def _approved_in_scope(user: Any) -> QuerySet[Enterprise]:
    return permissions.enterprises_in_scope(user).filter(status=EnterpriseStatus.APPROVED)


def report_totals_in_scope(*, user: Any, day: date) -> dict[str, int]:
    """How many approved enterprises in the user's scope have and have not reported for the
    day: one aggregate query."""
    # The EXISTS goes straight into the filter: an aggregate over an annotation of the same
    # name can lose the annotation in Django's subquery wrapping.
    totals = _approved_in_scope(user).aggregate(
        enterprises=Count("pk"), reported=Count("pk", filter=Q(_has_reported(day)))
    )
    return {
        "enterprises": totals["enterprises"],
        "reported": totals["reported"],
        "not_reported": totals["enterprises"] - totals["reported"],
    }


def reports_in_scope(
    *,
    user: Any,
    day: date,
    reported: bool | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The approved enterprises in the user's scope (permissions.enterprises_in_scope), by
    name, each with whether it has reported for the day and its figures; `reported` filters,
    `offset`/`limit` page (a city has ~500,000 enterprises). Two queries per page."""
    qs = _approved_in_scope(user)
    if reported is not None:
        qs = qs.filter(_has_reported(day) if reported else ~_has_reported(day))
    qs = qs.order_by("name", "pk")
    page = list(qs[offset : offset + limit] if limit is not None else qs[offset:])
    reports = {
        r.enterprise_id: r
        for r in DailyReport.objects.filter(enterprise__in=[e.pk for e in page], day=day)
    }
    lang = get_language() or "zh-hans"
    departments = industries.departments()
    rows = []
    for enterprise in page:
        report = reports.get(enterprise.pk)
        rows.append(
            {
                "enterprise": {
                    "id": enterprise.pk,
                    "name": enterprise.name,
                    "district": enterprise.district_id,
                    "district_name": regions.describe(enterprise.district_id, lang),
                    "department": enterprise.department,
                    "department_name": departments[enterprise.department].name(lang)
                    if enterprise.department in departments
                    else enterprise.department,
                },
                "reported": report is not None,
                "report": None
                if report is None
                else {
                    "revision": report.revision,
                    "figures": report.figures,
                    "note": report.note,
                    "submitted_at": report.submitted_at,
                },
            }
        )
    return rows
