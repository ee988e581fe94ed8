"""Back-office writes: granting admin roles. Applications for admin accounts and their
approval by a city admin come with the management system; until then roles are granted
by `manage.py grant_admin_role` through this one function."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from healthcode.accounts.models import User
from healthcode.accounts.services import validate_phone
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.backoffice.choices import AdminRoleKind
from healthcode.backoffice.models import AdminRole
from healthcode.enterprises import industries
from healthcode.lib.masking import mask_phone
from healthcode.regions import services as regions


@transaction.atomic
def grant_admin_role(
    *,
    phone: str,
    kind: str,
    district: str | None = None,
    department: str | None = None,
    actor: Any = None,
    organisation: str = "",
) -> tuple[AdminRole, bool]:
    """Grant a back-office role to the account with this phone, creating the account when
    it does not exist yet (it logs in by SMS code). A district or reviewer role needs a
    Nanning district or development zone; an industry role a department code from
    enterprises/data/industries.json; a city role neither. Returns the role and whether the
    account was created. A role the account already holds in force is refused."""
    phone = validate_phone(phone)
    district = (district or "").strip()
    department = (department or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in AdminRoleKind.values:
        errors["kind"] = [
            _("角色必须是以下之一：%(kinds)s。") % {"kinds": ", ".join(AdminRoleKind.values)}
        ]
    elif kind in (AdminRoleKind.DISTRICT_ADMIN, AdminRoleKind.REVIEWER):
        if not regions.is_nanning_district(district):
            errors["district"] = [
                _("该角色必须指定南宁市的县（市、区）或开发区代码（如 450103）。")
            ]
        if department:
            errors["department"] = [_("该角色不设行业主管部门。")]
    elif kind == AdminRoleKind.INDUSTRY_ADMIN:
        if department not in industries.departments():
            errors["department"] = [
                _("行业主管部门管理员必须指定部门代码，以下之一：%(codes)s。")
                % {"codes": ", ".join(industries.departments())}
            ]
        if district:
            errors["district"] = [_("该角色不设城区。")]
    elif district or department:
        errors["__all__"] = [_("市级管理员的范围是全市，不设城区或部门。")]
    if errors:
        raise ValidationError(errors)
    user = User.objects.filter(phone=phone).first()
    created = user is None
    if user is None:
        user = User.objects.create_user(phone=phone)
    held = AdminRole.objects.filter(
        user=user,
        kind=kind,
        district_id=district or None,
        department=department,
        revoked_at__isnull=True,
    )
    if held.exists():
        raise ValidationError({"kind": [_("该账号已拥有这个角色。")]})
    role = AdminRole.objects.create(
        user=user,
        kind=kind,
        district_id=district or None,
        department=department,
        organisation=organisation,
    )
    audit(
        action=AuditAction.ADMIN_ROLE_GRANT,
        actor=actor,
        subject=role,
        detail={
            "phone": mask_phone(phone),
            "kind": kind,
            "district": district or None,
            "department": department or None,
            "account_created": created,
        },
    )
    return role, created
