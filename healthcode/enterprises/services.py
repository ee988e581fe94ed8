"""Enterprises (企业模块), the core: registration and approval, co-managers, employees and
scan permission. Every write is one keyword-only function here that validates, writes and
audits; the pages, the API and the bulk importer all call these.

Refusals:
- bad input → `ValidationError({field: [message]})` (400, nothing written);
- an enterprise the actor does not manage or oversee → `Http404` (it does not exist for them);
- an enterprise the actor manages but an act its role does not allow (a co-manager managing
  co-managers) or its state does not allow (employees before approval) → `ApiError(403, …)`;
- an act on something already done (a decided enterprise, a removed employee) → `ApiError(400, …)`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import enterprises_in_scope
from healthcode.accounts.services import validate_phone
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.enterprises import industries
from healthcode.enterprises.choices import EnterpriseStatus, ManagerRole
from healthcode.enterprises.models import Employee, Enterprise, EnterpriseManager
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_name, mask_phone

if TYPE_CHECKING:
    from healthcode.codes.models import HealthCode

LINKED = "linked"
INVITED = "invited"

# The declaration's name rule (codes/forms.py), so an employee's name can equal a code's.
NAME_RE = re.compile(r"[\u3400-\u9fff·A-Za-z .]{2,64}")
DEPARTMENT_MAX = 64
# SQLite allows 32,766 bound parameters per statement; stay well below it.
PHONES_PER_QUERY = 20_000
TRUE_WORDS = {"true", "1", "on", "yes", "y", "是", "t"}
FALSE_WORDS = {"false", "0", "off", "no", "n", "否", "f", ""}
DATE_RE = re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}")


# --- Employees: validation without writes (the page, the API and the bulk importer) --------


@dataclass(frozen=True)
class EmployeeDraft:
    """A validated employee row, not yet saved. `code` is the health code it links to (name
    and phone match), or None: the row is kept as an invitation."""

    name: str
    phone: str
    department_name: str
    returned_to_work: bool
    returned_on: date | None
    code: HealthCode | None

    @property
    def status(self) -> str:
        """Either "linked" or "invited"."""
        return LINKED if self.code is not None else INVITED

    def build(self, enterprise: Enterprise) -> Employee:
        """An unsaved Employee of `enterprise` (for bulk_create)."""
        return Employee(
            enterprise=enterprise,
            name=self.name,
            phone=self.phone,
            code=self.code,
            department_name=self.department_name,
            returned_to_work=self.returned_to_work,
            returned_on=self.returned_on,
        )


def normalise_name(value: object) -> str:
    """A name as typed, made comparable: full-width forms folded (NFKC), surrounding and
    repeated spaces dropped."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    return " ".join(text.split())


def codes_by_phone(phones: Iterable[str]) -> dict[str, list[HealthCode]]:
    """The health codes declared with each of these phones (a phone may carry several codes:
    an account's own and its family members'), oldest first. One query per 20,000 phones."""
    from healthcode.codes.models import HealthCode

    wanted = sorted({p for p in phones if p})
    found: dict[str, list[HealthCode]] = {}
    for start in range(0, len(wanted), PHONES_PER_QUERY):
        chunk = wanted[start : start + PHONES_PER_QUERY]
        for code in HealthCode.objects.filter(phone__in=chunk).order_by("created_at", "pk"):
            found.setdefault(code.phone, []).append(code)
    return found


def _parse_bool(value: object) -> bool | None:
    """True/False from a checkbox, JSON, or a spreadsheet cell (是/否); None if unreadable."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _parse_date(value: object) -> date | None:
    """A date from a date, a datetime (spreadsheet cells) or text YYYY-MM-DD / YYYY/MM/DD.
    Raises ValueError when unreadable; None for an empty value."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    if not DATE_RE.fullmatch(text):
        raise ValueError("not a date")
    return date.fromisoformat(text.replace("/", "-"))


def check_employee(
    *,
    enterprise: Enterprise,
    data: Mapping[str, Any],
    codes_by_phone: Mapping[str, list[HealthCode]] | None = None,
    active_phones: set[str] | None = None,
    employee: Employee | None = None,
) -> EmployeeDraft:
    """Validate one employee (name, phone, department_name, returned_to_work, returned_on)
    for `enterprise` and find the health code it links to. Writes nothing.

    Rules: the name is required (the declaration's name rule); the phone is a mainland mobile
    number; when codes were declared with that phone, one of them must carry that name (else
    refused on "name"); the phone is not already an active employee of this enterprise
    (`employee`, when editing, is not counted); a returned-to-work person needs the date of
    return, which is not in the future; without the flag the date is ignored.

    With `codes_by_phone` (from `codes_by_phone()`) and `active_phones` (the enterprise's
    active employees' phones) given, it runs no query at all — the bulk importer's path.
    Raises ValidationError({field: [message]}) with every problem of the row.
    """
    errors: dict[str, list[str]] = {}

    name = normalise_name(data.get("name"))
    if not name:
        errors["name"] = [_("请填写员工姓名。")]
    elif not NAME_RE.fullmatch(name):
        errors["name"] = [_("姓名须为 2–64 个汉字或字母（可含间隔号·、空格和点）。")]

    phone = ""
    try:
        phone = validate_phone("" if data.get("phone") is None else str(data.get("phone")))
    except ValidationError as exc:
        errors["phone"] = exc.message_dict["phone"]

    department_name = normalise_name(data.get("department_name"))
    if len(department_name) > DEPARTMENT_MAX:
        errors["department_name"] = [_("部门名称不能超过 64 个字。")]

    returned_to_work = _parse_bool(data.get("returned_to_work"))
    if returned_to_work is None:
        errors["returned_to_work"] = [_("是否复工人员须填写“是”或“否”。")]
    returned_on: date | None = None
    if returned_to_work:
        try:
            returned_on = _parse_date(data.get("returned_on"))
        except ValueError:
            errors["returned_on"] = [_("复工日期格式不正确，应为 YYYY-MM-DD（如 2020-02-24）。")]
        else:
            if returned_on is None:
                errors["returned_on"] = [_("复工人员必须填写复工日期。")]
            elif returned_on > timezone.localdate():
                errors["returned_on"] = [_("复工日期不能晚于今天。")]

    code = None
    if phone:
        if active_phones is not None:
            duplicate = phone in active_phones and not (employee and employee.phone == phone)
        else:
            others = Employee.objects.filter(enterprise=enterprise, active=True, phone=phone)
            if employee is not None:
                others = others.exclude(pk=employee.pk)
            duplicate = others.exists()
        if duplicate:
            errors.setdefault("phone", []).append(_("该手机号已是本企业的在职员工，不能重复添加。"))
        if codes_by_phone is None:
            from healthcode.codes.models import HealthCode

            candidates = list(HealthCode.objects.filter(phone=phone).order_by("created_at", "pk"))
        else:
            candidates = list(codes_by_phone.get(phone, ()))
        if candidates and "name" not in errors:
            matching = [c for c in candidates if normalise_name(c.name) == name]
            if matching:
                code = matching[0]
            else:
                errors["name"] = [
                    _("姓名与该手机号登记的健康码持有人不一致：请核对员工姓名和手机号。")
                ]

    if errors:
        raise ValidationError(errors)
    return EmployeeDraft(
        name=name,
        phone=phone,
        department_name=department_name,
        returned_to_work=bool(returned_to_work),
        returned_on=returned_on,
        code=code,
    )


# --- Guards ---------------------------------------------------------------------------------


def _manager_row(actor: Any, enterprise: Enterprise) -> EnterpriseManager:
    """The actor's manager row for this enterprise, or 404 (not managed by the actor)."""
    if not getattr(actor, "is_authenticated", False):
        raise Http404("no such enterprise")
    row = EnterpriseManager.objects.filter(enterprise_id=enterprise.pk, user=actor).first()
    if row is None:
        raise Http404("no such enterprise")
    return row


def ensure_approved(enterprise: Enterprise) -> None:
    """Employees are managed only once the enterprise is approved: before that nobody has
    checked that the registrant really runs it, so it must not link anyone's health code."""
    if enterprise.status != EnterpriseStatus.APPROVED:
        raise ApiError(
            403,
            "enterprise_not_approved",
            _("企业尚未通过审核（当前状态：%(status)s），审核通过后才能管理员工。")
            % {"status": enterprise.get_status_display()},
        )


def _ensure_active(employee: Employee) -> None:
    if not employee.active:
        raise ApiError(400, "employee_inactive", _("该员工已离职或被移除，不能再修改。"))


def _masked(detail: dict[str, Any]) -> dict[str, Any]:
    out = dict(detail)
    if "name" in out:
        out["name"] = mask_name(out["name"])
    if "phone" in out:
        out["phone"] = mask_phone(out["phone"])
    return out


# --- Enterprises ----------------------------------------------------------------------------


@transaction.atomic
def register_enterprise(
    *, actor: Any, data: Mapping[str, Any], ip: str | None = None
) -> Enterprise:
    """Register an enterprise (开通企业管理账号): validate, store it as pending with the
    registrant as its owner manager, audit. The supervising department follows from the
    industry section (GB/T 4754). A credit code registered before is refused on credit_code."""
    from healthcode.enterprises.forms import EnterpriseForm

    form = EnterpriseForm(data=data, account_phone=actor.phone)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    clean = form.cleaned_data
    duplicate = ValidationError(
        {
            "credit_code": [
                _(
                    "该统一社会信用代码的企业已经注册，不能重复注册；"
                    "如需参与管理，请联系该企业的管理员将您添加为协管员。"
                )
            ]
        }
    )
    if Enterprise.objects.filter(credit_code=clean["credit_code"]).exists():
        raise duplicate
    enterprise = Enterprise(
        name=clean["name"],
        credit_code=clean["credit_code"],
        district_id=clean["district"],
        industry=clean["industry"],
        department=industries.department_for(clean["industry"]),
        address=clean["address"],
        contact_name=clean["contact_name"],
        contact_phone=clean["contact_phone"],
        status=EnterpriseStatus.PENDING,
        registered_by=actor,
    )
    try:
        with transaction.atomic():
            enterprise.save()
    except IntegrityError:  # registered concurrently
        raise duplicate from None
    EnterpriseManager.objects.create(enterprise=enterprise, user=actor, role=ManagerRole.OWNER)
    audit(
        action=AuditAction.ENTERPRISE_REGISTER,
        actor=actor,
        subject=enterprise,
        ip=ip,
        detail={
            "credit_code": enterprise.credit_code,
            "district": enterprise.district_id,
            "industry": enterprise.industry,
            "department": enterprise.department,
        },
    )
    return enterprise


@transaction.atomic
def decide_enterprise(
    *, actor: Any, enterprise: Enterprise, approve: bool, note: str = "", ip: str | None = None
) -> Enterprise:
    """Approve or reject a pending enterprise. Only an admin whose scope includes it (its
    district's, its supervising department's, or a city admin) may; anyone else gets 404.
    An admin who manages the enterprise may not decide it (403); a rejection needs a note
    (the registrant is told why); an enterprise decided already is refused (400)."""
    if not enterprises_in_scope(actor).filter(pk=enterprise.pk).exists():
        raise Http404("no such enterprise")
    if EnterpriseManager.objects.filter(enterprise_id=enterprise.pk, user=actor).exists():
        # An admin who also manages the enterprise (e.g. registered it) would approve themself.
        raise ApiError(403, "own_enterprise", _("不能审核自己管理的企业，请由同级其他管理员审核。"))
    locked = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
    if locked.status != EnterpriseStatus.PENDING:
        raise ApiError(
            400,
            "already_decided",
            _("该企业已审核（%(status)s），不能重复审核。")
            % {"status": locked.get_status_display()},
        )
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"note": [_("审核意见不能超过 200 个字。")]})
    if not approve and not note:
        raise ValidationError({"note": [_("不通过时必须填写审核意见，说明原因。")]})
    locked.status = EnterpriseStatus.APPROVED if approve else EnterpriseStatus.REJECTED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.decision_note = note
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit(
        action=AuditAction.ENTERPRISE_DECISION,
        actor=actor,
        subject=locked,
        ip=ip,
        detail={"status": locked.status, "note": note},
    )
    return locked


@transaction.atomic
def add_co_manager(
    *, actor: Any, enterprise: Enterprise, phone: str, ip: str | None = None
) -> EnterpriseManager:
    """Add a co-manager (协管员) by the phone of an existing account. Only the owner may
    (a co-manager gets 403); the account must exist (400 on phone otherwise)."""
    from healthcode.accounts.models import User

    row = _manager_row(actor, enterprise)
    if row.role != ManagerRole.OWNER:
        raise ApiError(403, "owner_only", _("只有企业管理员（注册人）可以添加或移除协管员。"))
    phone = validate_phone(phone)
    user = User.objects.filter(phone=phone).first()
    if user is None:
        raise ValidationError(
            {
                "phone": [
                    _(
                        "该手机号还没有爱南宁健康码账号：请对方先用该手机号登录一次，"
                        "再添加为协管员。"
                    )
                ]
            }
        )
    if EnterpriseManager.objects.filter(enterprise=enterprise, user=user).exists():
        raise ValidationError({"phone": [_("该账号已经是本企业的管理员或协管员。")]})
    manager = EnterpriseManager.objects.create(
        enterprise=enterprise, user=user, role=ManagerRole.CO_MANAGER
    )
    audit(
        action=AuditAction.CO_MANAGER_ADD,
        actor=actor,
        subject=enterprise,
        ip=ip,
        detail={"phone": mask_phone(phone)},
    )
    return manager


@transaction.atomic
def remove_co_manager(
    *, actor: Any, enterprise: Enterprise, phone: str, ip: str | None = None
) -> None:
    """Remove a co-manager by phone. Only the owner may (403 for a co-manager); the owner
    cannot be removed this way."""
    row = _manager_row(actor, enterprise)
    if row.role != ManagerRole.OWNER:
        raise ApiError(403, "owner_only", _("只有企业管理员（注册人）可以添加或移除协管员。"))
    phone = validate_phone(phone)
    target = EnterpriseManager.objects.filter(
        enterprise=enterprise, user__phone=phone, role=ManagerRole.CO_MANAGER
    ).first()
    if target is None:
        raise ValidationError({"phone": [_("该手机号不是本企业的协管员。")]})
    target.delete()
    audit(
        action=AuditAction.CO_MANAGER_REMOVE,
        actor=actor,
        subject=enterprise,
        ip=ip,
        detail={"phone": mask_phone(phone)},
    )


# --- Employees: writes ----------------------------------------------------------------------


@transaction.atomic
def add_employee(
    *, actor: Any, enterprise: Enterprise, data: Mapping[str, Any], ip: str | None = None
) -> tuple[Employee, str]:
    """Add an employee (添加员工) by name and phone. Answers the employee and "linked" (the
    name and phone match a health code) or "invited" (no code with that phone yet: the row
    links itself when that person applies). Managers and co-managers only; the enterprise
    must be approved."""
    _manager_row(actor, enterprise)
    ensure_approved(enterprise)
    draft = check_employee(enterprise=enterprise, data=data)
    employee = draft.build(enterprise)
    try:
        with transaction.atomic():
            employee.save()
    except IntegrityError:  # the same phone added concurrently
        raise ValidationError(
            {"phone": [_("该手机号已是本企业的在职员工，不能重复添加。")]}
        ) from None
    audit(
        action=AuditAction.EMPLOYEE_ADD,
        actor=actor,
        subject=employee,
        ip=ip,
        detail=_masked(
            {
                "enterprise": enterprise.pk,
                "name": draft.name,
                "phone": draft.phone,
                "status": draft.status,
            }
        ),
    )
    return employee, draft.status


EMPLOYEE_FIELDS = ("name", "phone", "department_name", "returned_to_work", "returned_on")


@transaction.atomic
def update_employee(
    *, actor: Any, employee: Employee, data: Mapping[str, Any], ip: str | None = None
) -> tuple[Employee, str]:
    """Change an active employee's details; fields absent from `data` keep their value. A
    changed name or phone is matched again (linked or invited). Managers only."""
    enterprise = employee.enterprise
    _manager_row(actor, enterprise)
    ensure_approved(enterprise)
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    _ensure_active(employee)
    merged = {field: getattr(employee, field) for field in EMPLOYEE_FIELDS}
    merged.update({k: v for k, v in data.items() if k in EMPLOYEE_FIELDS})
    draft = check_employee(enterprise=enterprise, data=merged, employee=employee)
    changed = [
        field
        for field in (*EMPLOYEE_FIELDS, "code")
        if getattr(employee, field) != getattr(draft, field)
    ]
    for field in changed:
        setattr(employee, field, getattr(draft, field))
    if changed:
        try:
            with transaction.atomic():
                employee.save(update_fields=changed)
        except IntegrityError:
            raise ValidationError(
                {"phone": [_("该手机号已是本企业的在职员工，不能重复添加。")]}
            ) from None
        audit(
            action=AuditAction.EMPLOYEE_UPDATE,
            actor=actor,
            subject=employee,
            ip=ip,
            detail={"fields": changed, "status": draft.status},
        )
    return employee, draft.status


@transaction.atomic
def deactivate_employee(*, actor: Any, employee: Employee, ip: str | None = None) -> Employee:
    """An employee leaves (离职/移除): kept for the attendance history, no longer active, and
    without scan permission. Their electronic work certificate for this enterprise ends."""
    _manager_row(actor, employee.enterprise)
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    if not employee.active:
        raise ApiError(400, "employee_inactive", _("该员工已离职或被移除。"))
    employee.active = False
    employee.can_scan = False
    employee.removed_at = timezone.now()
    employee.save(update_fields=["active", "can_scan", "removed_at"])
    audit(
        action=AuditAction.EMPLOYEE_DEACTIVATE,
        actor=actor,
        subject=employee,
        ip=ip,
        detail={"enterprise": employee.enterprise_id},
    )
    return employee


@transaction.atomic
def set_scan_permission(
    *, actor: Any, employee: Employee, allowed: bool, ip: str | None = None
) -> Employee:
    """Grant or revoke an active employee's scan permission (企业扫码人员权限). Managers and
    co-managers only; the enterprise must be approved."""
    _manager_row(actor, employee.enterprise)
    ensure_approved(employee.enterprise)
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    _ensure_active(employee)
    if employee.can_scan != bool(allowed):
        employee.can_scan = bool(allowed)
        employee.save(update_fields=["can_scan"])
        audit(
            action=AuditAction.SCAN_PERMISSION,
            actor=actor,
            subject=employee,
            ip=ip,
            detail={"allowed": employee.can_scan},
        )
    return employee


def link_invitations(*, code: HealthCode) -> int:
    """Link the open invitations (active employees without a code) whose phone and name
    match a newly declared code. Runs inside the declaration's transaction. Returns how
    many were linked."""
    name = normalise_name(code.name)
    linked = 0
    for employee in Employee.objects.filter(phone=code.phone, code__isnull=True, active=True):
        if normalise_name(employee.name) != name:
            continue
        employee.code = code
        employee.save(update_fields=["code"])
        audit(
            action=AuditAction.EMPLOYEE_LINK,
            subject=employee,
            detail={"enterprise": employee.enterprise_id, "code": str(code.public_id)},
        )
        linked += 1
    return linked


# --- Reads ----------------------------------------------------------------------------------


def certificate_employments(code: HealthCode) -> list[Employee]:
    """The electronic work certificate (电子证) of a code: its active employments at approved
    enterprises — shown only while the code is green."""
    if code.color != "green":
        return []
    return list(
        Employee.objects.filter(
            code=code, active=True, enterprise__status=EnterpriseStatus.APPROVED
        )
        .select_related("enterprise")
        .order_by("enterprise__name", "pk")
    )


def present_enterprise(enterprise: Enterprise, *, role: str | None = None) -> dict[str, Any]:
    """An enterprise as the API shows it, with the viewer's manager role (or None)."""
    from django.utils.translation import get_language

    from healthcode.regions import services as regions

    lang = get_language() or "zh-hans"
    section = industries.sections().get(enterprise.industry)
    department = industries.departments().get(enterprise.department)
    return {
        "id": enterprise.pk,
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "district": enterprise.district_id,
        "district_name": regions.describe(enterprise.district_id, lang),
        "industry": enterprise.industry,
        "industry_name": section.name(lang) if section else enterprise.industry,
        "department": enterprise.department,
        "department_name": department.name(lang) if department else enterprise.department,
        "address": enterprise.address,
        "contact_name": enterprise.contact_name,
        "contact_phone": enterprise.contact_phone,
        "status": enterprise.status,
        "status_label": str(enterprise.get_status_display()),
        "decision_note": enterprise.decision_note,
        "decided_at": enterprise.decided_at,
        "created_at": enterprise.created_at,
        "my_role": role,
    }


def present_employee(employee: Employee, *, full_phone: bool) -> dict[str, Any]:
    """An employee as the API shows it: the full phone only for the enterprise's own
    managers (their staff list), masked for anyone else; the linked code's current colour."""
    from healthcode.codes.services import current

    code = current(employee.code) if employee.code_id else None
    return {
        "id": employee.pk,
        "name": employee.name,
        "phone": employee.phone if full_phone else mask_phone(employee.phone),
        "department_name": employee.department_name,
        "returned_to_work": employee.returned_to_work,
        "returned_on": employee.returned_on,
        "status": LINKED if code is not None else INVITED,
        "color": code.color if code is not None else None,
        "can_scan": employee.can_scan,
        "active": employee.active,
        "added_at": employee.added_at,
        "removed_at": employee.removed_at,
    }


def status_message(status: str) -> str:
    """What adding an employee did, said to the manager."""
    if status == LINKED:
        return _("已添加，并已关联该员工的健康码。")
    return _("已添加为邀请：该手机号还没有申领健康码。对方用此手机号和同一姓名申领后，将自动关联。")
