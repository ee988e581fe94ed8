"""Scanning for an enterprise and health attendance (健康考勤).

A scanner of an enterprise (an employee with scan permission, or a manager) verifies a
resident's QR token for that enterprise — colour, whether the person is an employee there,
today's check-in, and the verdict (green → 可返岗) — and then records temperature and
symptoms. The record is an `Attendance` row *and* that person's daily check-in (source:
enterprise scan), so the colour is re-derived from it at once.

The scan API (`POST /api/v1/scans` with "enterprise") and the scanner page call these
functions; neither holds a rule of its own.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import enterprise_managed_by, enterprises_scannable_by
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.checkins.choices import CheckInSource
from healthcode.checkins.models import CheckIn
from healthcode.checkins.services import record_checkin
from healthcode.codes import services as code_services
from healthcode.codes.choices import Color
from healthcode.codes.forms import CheckInForm
from healthcode.codes.models import HealthCode
from healthcode.enterprises.choices import EnterpriseStatus, Verdict
from healthcode.enterprises.models import Attendance, Employee, Enterprise
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_name, mask_phone

# Primary keys are 64-bit; a larger number in a URL or body is simply not found (SQLite
# would otherwise raise OverflowError on the lookup).
_MAX_PK = 2**63 - 1


def _enterprise_pk(enterprise_id: object) -> int:
    """The enterprise id as a primary key, or 404 for anything that cannot be one."""
    try:
        pk = int(str(enterprise_id))
    except ValueError:
        raise Http404("no such enterprise") from None
    if not 0 < pk <= _MAX_PK:
        raise Http404("no such enterprise")
    return pk


def scannable_enterprise(user: Any, enterprise_id: object) -> Enterprise:
    """The enterprise `user` may scan for (enterprises_scannable_by), or a refusal:

    - 404 when there is no such approved enterprise (unknown, pending or rejected: it does
      not exist for scanning);
    - 403 `not_a_scanner` when it is an approved enterprise but the account has no scan
      permission there — the issue asks for 403 for a non-scanner recording attendance.

    The scanner page and the scan API both start here, so they refuse alike."""
    pk = _enterprise_pk(enterprise_id)
    enterprise = enterprises_scannable_by(user).filter(pk=pk).first()
    if enterprise is not None:
        return enterprise
    if Enterprise.objects.filter(pk=pk, status=EnterpriseStatus.APPROVED).exists():
        raise ApiError(
            403,
            "not_a_scanner",
            _("您没有该企业的扫码权限，不能为其扫码或记录健康考勤。请联系企业管理员授予扫码权限。"),
        )
    raise Http404("no such enterprise")


def employee_for(enterprise: Enterprise, code: HealthCode) -> Employee | None:
    """The active employee of `enterprise` this code belongs to: linked to the code, or (an
    invitation not yet linked) with the code's phone and name."""
    return (
        Employee.objects.filter(enterprise=enterprise, active=True)
        .filter(Q(code=code) | Q(code__isnull=True, phone=code.phone, name=code.name))
        .order_by("code_id", "pk")  # a linked row (code_id set) before an invitation
        .first()
    )


def verdict_for(color: str) -> str:
    """Green may work (可返岗); yellow and red may not (暂不可返岗)."""
    return Verdict.MAY_WORK if color == Color.GREEN else Verdict.MAY_NOT_WORK


def _with_verdict(answer: dict[str, Any], employee: Employee | None) -> dict[str, Any]:
    verdict = verdict_for(answer["color"])
    answer.update(
        {
            "verdict": verdict,
            "verdict_text": str(Verdict(verdict).label),
            "employee_here": employee is not None,
            "department": employee.department_name if employee is not None else None,
        }
    )
    return answer


def _code_of(answer: dict[str, Any]) -> HealthCode:
    return HealthCode.objects.get(public_id=answer["id"])


def check_for_enterprise(
    *,
    scanner: Any,
    enterprise_id: object,
    payload: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Verify a token at an enterprise's gate without recording attendance: the scan answer
    of `verify_scan` plus the verdict and whether the person is an employee there. Only a
    scanner of that enterprise may ask (403/404 otherwise): it tells who works where."""
    enterprise = scannable_enterprise(scanner, enterprise_id)
    answer = code_services.verify_scan(payload=payload, scanner=scanner, ip=ip, now=now)
    if not answer["valid"]:
        return answer
    employee = employee_for(enterprise, _code_of(answer))
    return _with_verdict(answer, employee)


def _observation(temperature: object, symptoms: object) -> dict[str, Any]:
    """The scanner's measurement, validated by the check-in's own rules (one rule: 34–43 °C,
    known symptom codes). Raises ValidationError naming the field."""
    form = CheckInForm(
        data={
            "temperature": "" if temperature is None else str(temperature),
            "symptoms": list(symptoms or []),
            "in_nanning": True,
            "new_contact": False,
        }
    )
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return {
        "temperature": form.cleaned_data["temperature"],
        "symptoms": sorted(form.cleaned_data.get("symptoms") or []),
    }


def _checkin_data(observed: dict[str, Any], today: CheckIn | None) -> dict[str, Any]:
    """The day's check-in after this scan. The person is at an enterprise in Nanning. A scan
    adds what the scanner observed but never hides what the person declared the same day: a
    new contact stays declared, symptoms are merged and the higher temperature is kept —
    otherwise a normal reading at the gate would silently clear a fever or contact and turn
    the code back to green. (The earlier values are kept as a revision anyway.)"""
    temperature: Decimal = observed["temperature"]
    symptoms = set(observed["symptoms"])
    new_contact = False
    if today is not None:
        temperature = max(temperature, today.temperature)
        symptoms |= set(today.symptoms or [])
        new_contact = today.new_contact
    return {
        "temperature": str(temperature),
        "symptoms": sorted(symptoms),
        "in_nanning": True,
        "new_contact": new_contact,
    }


def record_attendance(
    *,
    scanner: Any,
    enterprise_id: object,
    payload: str,
    temperature: object,
    symptoms: object,
    ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record health attendance (健康考勤) for a scanned code at an enterprise.

    Refuses (nothing written) a scanner without scan permission there (403 `not_a_scanner`),
    an unknown or unapproved enterprise (404), and a temperature outside 34–43 °C or unknown
    symptoms (ValidationError → 400 naming the field). An invalid token gives the scan
    answer `{"valid": false, "error", ...}` and records no attendance and no check-in (the
    scan itself is logged by verify_scan, as every scan is).

    Otherwise, in one transaction: the day's check-in for that code (source enterprise_scan,
    re-deriving the colour), the Attendance row with the colour *after* that check-in and the
    verdict, and an audit record. Answers the scan answer (colour, reasons, path to green as
    they are after the check-in) with `verdict`, `verdict_text`, `employee_here`,
    `checked_in_today` and `attendance`."""
    now = now or timezone.now()
    # Checks that write nothing come before the transaction.
    enterprise = scannable_enterprise(scanner, enterprise_id)
    observed = _observation(temperature, symptoms)
    with transaction.atomic():
        answer = code_services.verify_scan(payload=payload, scanner=scanner, ip=ip, now=now)
        if not answer["valid"]:
            return answer
        day = timezone.localdate(now)
        # Lock the code first so the check-in read below is the one record_checkin amends.
        code = HealthCode.objects.select_for_update().get(public_id=answer["id"])
        today = CheckIn.objects.filter(code=code, day=day).first()
        # Read before the check-in: its audit record takes the audit chain's lock, which every
        # audited write in the deployment waits for until this transaction commits.
        employee = employee_for(enterprise, code)
        checkin = record_checkin(
            code=code,
            actor=scanner,
            data=_checkin_data(observed, today),
            source=CheckInSource.ENTERPRISE_SCAN,
            ip=ip,
            now=now,
        )
        attendance = Attendance.objects.create(
            enterprise=enterprise,
            employee=employee,
            code=code,
            scanner=scanner,
            at=now,
            day=day,
            color=code.color,
            verdict=verdict_for(code.color),
            temperature=observed["temperature"],
            symptoms=observed["symptoms"],
            checkin=checkin,
        )
        audit(
            action=AuditAction.ATTENDANCE,
            actor=scanner,
            subject=code,
            ip=ip,
            detail={
                "enterprise": enterprise.pk,
                "attendance": attendance.pk,
                "employee": employee.pk if employee is not None else None,
                "day": day.isoformat(),
                "temperature": str(attendance.temperature),
                "symptoms": attendance.symptoms,
                "color": attendance.color,
                "verdict": attendance.verdict,
                "checkin": checkin.pk,
            },
        )
    shown = code_services.present(code)
    answer.update(
        {
            "color": code.color,
            "reasons": shown["reasons"],
            "path_to_green": shown["path_to_green"],
            "checked_in_today": True,
        }
    )
    answer = _with_verdict(answer, employee)
    answer["attendance"] = present_attendance(attendance)
    return answer


# --- Reading attendance -------------------------------------------------------------------------


def fever_threshold() -> Decimal:
    """The temperature from which a reading is abnormal (the rule set's fever threshold)."""
    return Decimal(str(code_services.rule_set_in_force().symptoms.fever_threshold))


def attendance_of_day(enterprise: Enterprise, day: date) -> QuerySet[Attendance]:
    """An enterprise's attendance records of one day, newest first, ready to present."""
    return (
        Attendance.objects.filter(enterprise=enterprise, day=day)
        .select_related("code", "employee", "scanner")
        .order_by("-at", "-id")
    )


def attendance_for_manager(
    user: Any, enterprise_id: object, day: date
) -> tuple[Enterprise, QuerySet[Attendance]]:
    """The attendance of a day of an enterprise the account manages (404 otherwise)."""
    enterprise = enterprise_managed_by(user, _enterprise_pk(enterprise_id))
    return enterprise, attendance_of_day(enterprise, day)


def present_attendance(
    attendance: Attendance, *, threshold: Decimal | None = None
) -> dict[str, Any]:
    """One attendance record as the API and pages show it: masked names, no phone numbers
    of the scanned person."""
    threshold = fever_threshold() if threshold is None else threshold
    employee = attendance.employee
    return {
        "id": attendance.pk,
        "enterprise": attendance.enterprise_id,
        "day": attendance.day,
        "at": attendance.at,
        "code": str(attendance.code.public_id),
        "name": mask_name(attendance.code.name),
        "employee": employee.pk if employee is not None else None,
        "employee_here": employee is not None,
        "department": employee.department_name if employee is not None else None,
        "color": attendance.color,
        "verdict": attendance.verdict,
        "verdict_text": str(Verdict(attendance.verdict).label),
        "temperature": float(attendance.temperature),
        "abnormal_temperature": attendance.temperature >= threshold,
        "symptoms": list(attendance.symptoms or []),
        "scanner": mask_phone(attendance.scanner.phone) if attendance.scanner else None,
        "checkin": attendance.checkin_id,
    }
