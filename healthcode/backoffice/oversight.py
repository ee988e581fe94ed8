"""Enterprise oversight (企业监管) for the back office: the enterprises in an authority's scope
(permissions.enterprises_in_scope) with their approval status, the day's report and their
employees by colour. A page of enterprises costs four queries whatever its size: the count,
the page, the day's reports of the page, and ONE aggregate over the page's employees."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import enterprises_in_scope
from healthcode.codes.choices import Color
from healthcode.enterprises import industries
from healthcode.enterprises.choices import EnterpriseStatus
from healthcode.enterprises.models import DailyReport, Employee
from healthcode.regions import services as regions

PAGE_SIZE = 50
MAX_LIMIT = 500


def _employee_colours(enterprise_ids: list[int]) -> dict[int, dict[str, int]]:
    """Active employees of these enterprises by colour of their linked code (and invitations
    not linked yet): one GROUP BY query."""
    rows = (
        Employee.objects.filter(enterprise_id__in=enterprise_ids, active=True)
        .values("enterprise_id")
        .annotate(
            employees=Count("pk"),
            green=Count("pk", filter=Q(code__color=Color.GREEN)),
            yellow=Count("pk", filter=Q(code__color=Color.YELLOW)),
            red=Count("pk", filter=Q(code__color=Color.RED)),
            unlinked=Count("pk", filter=Q(code__isnull=True)),
        )
        .order_by()
    )
    return {row.pop("enterprise_id"): row for row in rows}


def enterprise_overview(
    *,
    user: Any,
    day: date,
    status: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> dict[str, Any]:
    """The enterprises in `user`'s scope by name, optionally of one approval `status`
    (pending | approved | rejected), a page of `limit` from `offset`, each with whether it has
    reported for `day` (and the report's figures) and its active employees by colour; the
    counts by status over the whole scope. A bad status or page raises ValidationError
    naming the field."""
    status = (status or "").strip()
    errors: dict[str, list[str]] = {}
    if status and status not in EnterpriseStatus.values:
        errors["status"] = [
            _("审核状态必须是以下之一：%(values)s。")
            % {"values": "、".join(EnterpriseStatus.values)}
        ]
    if offset < 0:
        errors["offset"] = [_("偏移量不能为负数。")]
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [_("每页条数应在 1 到 %(max)d 之间。") % {"max": MAX_LIMIT}]
    if errors:
        raise ValidationError(errors)
    scope = enterprises_in_scope(user)
    by_status = scope.aggregate(
        pending=Count("pk", filter=Q(status=EnterpriseStatus.PENDING)),
        approved=Count("pk", filter=Q(status=EnterpriseStatus.APPROVED)),
        rejected=Count("pk", filter=Q(status=EnterpriseStatus.REJECTED)),
    )
    listed = scope.filter(status=status) if status else scope
    total = by_status[status] if status else sum(by_status.values())
    page = list(listed.order_by("name", "pk")[offset : offset + limit])
    ids = [e.pk for e in page]
    colours = _employee_colours(ids)
    reports = {
        r.enterprise_id: r for r in DailyReport.objects.filter(enterprise_id__in=ids, day=day)
    }
    lang = get_language() or "zh-hans"
    departments = industries.departments()
    empty = {"employees": 0, "green": 0, "yellow": 0, "red": 0, "unlinked": 0}
    items = []
    for enterprise in page:
        report = reports.get(enterprise.pk)
        department = departments.get(enterprise.department)
        items.append(
            {
                "id": enterprise.pk,
                "name": enterprise.name,
                "credit_code": enterprise.credit_code,
                "district": enterprise.district_id,
                "district_name": regions.describe(enterprise.district_id, lang),
                "department": enterprise.department,
                "department_name": department.name(lang) if department else enterprise.department,
                "status": enterprise.status,
                "status_label": str(enterprise.get_status_display()),
                "created_at": enterprise.created_at,
                "decided_at": enterprise.decided_at,
                "reported": report is not None,
                "report": None
                if report is None
                else {
                    "revision": report.revision,
                    "figures": report.figures,
                    "note": report.note,
                    "submitted_at": report.submitted_at,
                },
                "colors": colours.get(enterprise.pk, dict(empty)),
            }
        )
    return {
        "day": day,
        "status": status or None,
        "offset": offset,
        "limit": limit,
        "total": total,
        "by_status": by_status,
        "items": items,
    }
