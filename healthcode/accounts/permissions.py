"""Who may see what: the one place that answers it, as querysets.

Views, API and commands never filter by owner themselves; they start from these.
Later roles (enterprise managers, reviewers, district/industry/city admins) add their
scopes here.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

if TYPE_CHECKING:
    from healthcode.accounts.models import User
    from healthcode.codes.models import HealthCode


def codes_visible_to(user: User) -> QuerySet[HealthCode]:
    """The codes an account holds: its own and those of the family members it added."""
    from healthcode.codes.models import HealthCode

    if not getattr(user, "is_authenticated", False):
        return HealthCode.objects.none()
    return HealthCode.objects.filter(account=user)


def code_for_holder(user: User, public_id: object) -> HealthCode:
    """A code the account holds, or 404 (never 403: another account's code does not exist
    for this account). A malformed id is simply not found."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("no such code") from None
    return get_object_or_404(
        codes_visible_to(user).select_related("district", "return_region"), public_id=public_id
    )


# --- Enterprises and authorities ------------------------------------------------------------


def admin_roles(user: User) -> QuerySet:
    """The account's back-office roles in force."""
    from healthcode.backoffice.models import AdminRole

    if not getattr(user, "is_authenticated", False):
        return AdminRole.objects.none()
    return AdminRole.objects.filter(user=user, revoked_at__isnull=True)


def is_city_admin(user: User) -> bool:
    return getattr(user, "is_superuser", False) or admin_roles(user).filter(kind="city_admin").exists()


def enterprises_managed_by(user: User) -> QuerySet:
    """Enterprises the account manages (as owner or co-manager), whatever their status."""
    from healthcode.enterprises.models import Enterprise

    if not getattr(user, "is_authenticated", False):
        return Enterprise.objects.none()
    return Enterprise.objects.filter(managers__user=user).distinct()


def enterprise_managed_by(user: User, enterprise_id: object) -> Any:
    """One enterprise the account manages, or 404 (another enterprise does not exist for it)."""
    try:
        pk = int(str(enterprise_id))
    except ValueError:
        raise Http404("no such enterprise") from None
    return get_object_or_404(enterprises_managed_by(user), pk=pk)


def enterprises_in_scope(user: User) -> QuerySet:
    """Enterprises an authority oversees: all for a city admin; those of its district or
    development zone for a district admin; those its department supervises for an industry
    admin. Reviewers and everyone else: none."""
    from healthcode.enterprises.models import Enterprise

    if not getattr(user, "is_authenticated", False):
        return Enterprise.objects.none()
    if is_city_admin(user):
        return Enterprise.objects.all()
    roles = admin_roles(user)
    districts = [r.district_id for r in roles if r.kind == "district_admin"]
    departments = [r.department for r in roles if r.kind == "industry_admin"]
    if not districts and not departments:
        return Enterprise.objects.none()
    return Enterprise.objects.filter(Q(district_id__in=districts) | Q(department__in=departments))


def enterprise_in_scope(user: User, enterprise_id: object) -> Any:
    try:
        pk = int(str(enterprise_id))
    except ValueError:
        raise Http404("no such enterprise") from None
    return get_object_or_404(enterprises_in_scope(user), pk=pk)


def enterprises_scannable_by(user: User) -> QuerySet:
    """Approved enterprises for which the account may record health attendance: it is an
    active employee with scan permission there (企业扫码人员), or one of its managers."""
    from healthcode.enterprises.models import Employee, Enterprise, EnterpriseManager

    if not getattr(user, "is_authenticated", False):
        return Enterprise.objects.none()
    # EXISTS rather than joins + DISTINCT: the join read every employee of the enterprise on
    # each scan (a seq scan of a 5,000-employee staff list per attendance record in
    # bench/http_load.py); EXISTS probes the (enterprise, phone) index.
    return Enterprise.objects.filter(
        Exists(
            Employee.objects.filter(
                enterprise=OuterRef("pk"), phone=user.phone, active=True, can_scan=True
            )
        )
        | Exists(EnterpriseManager.objects.filter(enterprise=OuterRef("pk"), user=user)),
        status="approved",
    )


def oversees_enterprises(user: User) -> bool:
    """A city, district/development-zone or industry-department admin: the authorities that
    oversee enterprises (reviewers do not)."""
    return is_city_admin(user) or (
        admin_roles(user).filter(kind__in=["district_admin", "industry_admin"]).exists()
    )


NOT_AN_ADMIN = "not_an_admin"


def require_oversight(user: User) -> None:
    """403 for a logged-in account that oversees no enterprises: the back-office lists exist
    only for authorities (the same answer on pages and in the API)."""
    from django.utils.translation import gettext as _

    from healthcode.lib.errors import ApiError

    if not oversees_enterprises(user):
        raise ApiError(
            403, NOT_AN_ADMIN, _("仅市、城区（开发区）和行业主管部门管理员可以使用此功能。")
        )


# --- Personal data of residents, for authorities (SPEC §4) -------------------------------------


def codes_in_scope(user: User) -> QuerySet[HealthCode]:
    """The health codes an authority may see: every code for a city admin; the codes of
    residents of its district or development zone for a district admin or a reviewer; the
    codes of the employees of the enterprises its department supervises for an industry
    admin. Everyone else: none. (A resident's own codes are `codes_visible_to`.)"""
    from healthcode.codes.models import HealthCode

    if not getattr(user, "is_authenticated", False):
        return HealthCode.objects.none()
    if is_city_admin(user):
        return HealthCode.objects.all()
    roles = list(admin_roles(user))
    districts = [r.district_id for r in roles if r.kind in ("district_admin", "reviewer")]
    departments = [r.department for r in roles if r.kind == "industry_admin"]
    if not districts and not departments:
        return HealthCode.objects.none()
    condition = Q(district_id__in=districts)
    if departments:
        # EXISTS rather than a join: no duplicate rows, so no DISTINCT, which would sort every
        # code in scope before a roster page's LIMIT (docs/scaling.md).
        from healthcode.enterprises.models import Employee

        condition |= Exists(
            Employee.objects.filter(
                code=OuterRef("pk"),
                active=True,
                enterprise__department__in=departments,
                enterprise__status="approved",
            )
        )
    return HealthCode.objects.filter(condition)


def code_in_scope(user: User, public_id: object) -> HealthCode:
    """One code in the authority's scope, or 404."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("no such code") from None
    return get_object_or_404(codes_in_scope(user), public_id=public_id)


def review_scope(user: User) -> QuerySet[HealthCode]:
    """The codes whose reviews and appeals an account handles, whatever their colour: all for
    a city admin; those of its district for a reviewer or a district admin. Industry admins
    oversee enterprises, not reviews; everyone else: none."""
    from healthcode.codes.models import HealthCode

    if not getattr(user, "is_authenticated", False):
        return HealthCode.objects.none()
    if is_city_admin(user):
        return HealthCode.objects.all()
    districts = [
        r.district_id for r in admin_roles(user) if r.kind in ("district_admin", "reviewer")
    ]
    return HealthCode.objects.filter(district_id__in=districts)


def reviewable_codes(user: User) -> QuerySet[HealthCode]:
    """Codes an account may review now: the yellow and red codes of its review scope."""
    return review_scope(user).filter(color__in=["yellow", "red"])


def may_unmask(user: User) -> bool:
    """Whether the account may see unmasked personal data of codes in its scope (each view is
    audited): city and district admins and reviewers; industry admins see masked data."""
    if is_city_admin(user):
        return True
    return admin_roles(user).filter(kind__in=["district_admin", "reviewer"]).exists()
