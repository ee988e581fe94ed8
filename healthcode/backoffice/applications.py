"""Back-office accounts (管理人员账号): applications, their approval, and the back-office login.

- `submit_application`: a logged-in account asks for a role (organisation, position, role,
  scope, reason) and chooses the back-office password, kept hashed on the application.
- `decide_application`: a city admin approves or rejects any application; a district admin
  only the reviewer applications of its own district. Approval generates the account through
  `services.grant_admin_role` (the one place roles are granted) and sets the password.
- The login: the password first (`check_login_password`, counted; the phone is locked for a
  while after repeated failures), then an SMS code through the accounts app's
  `request_otp`/`verify_otp` (their throttles and lockouts), `verify_login_code`.

Who sees which application (`applications_in_scope`): a city admin all; a district admin
those asking for a role in its district (reviewer or district admin) — the others do not
exist for it (404); it may decide only reviewers (a district-admin application of its own
district: 403 `city_admin_only`). Industry admins and reviewers approve nothing (403
`not_an_approver`). No one decides their own application (403 `own_application`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import get_password_validators, validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from healthcode.accounts.models import User
from healthcode.accounts.permissions import admin_roles, is_city_admin
from healthcode.accounts.services import request_otp, validate_phone, verify_otp
from healthcode.audit.choices import AuditAction
from healthcode.audit.models import AuditRecord
from healthcode.audit.services import audit
from healthcode.backoffice.auth import has_admin_role
from healthcode.backoffice.choices import AdminRoleKind, ApplicationStatus
from healthcode.backoffice.models import AdminApplication, AdminRole
from healthcode.backoffice.services import grant_admin_role
from healthcode.enterprises import industries
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_phone
from healthcode.regions import services as regions

# Used when settings.AUTH_PASSWORD_VALIDATORS is empty: a back-office password is always
# checked by Django's standard validators (length, similarity to the phone, common, numeric).
DEFAULT_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("phone",)},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

NOT_AN_APPROVER = "not_an_approver"


# --- Scope of a role ---------------------------------------------------------------------------


def scope_errors(*, kind: str, district: str, department: str) -> dict[str, list[str]]:
    """What is wrong with asking for role `kind` with this scope, by field: district and
    reviewer roles need a Nanning district or development zone and no department; an industry
    role a department of enterprises/data/industries.json and no district; the city role
    neither. Empty when the scope fits the role."""
    errors: dict[str, list[str]] = {}
    if kind not in AdminRoleKind.values:
        errors["kind"] = [
            _("申请角色必须是以下之一：%(kinds)s。") % {"kinds": "、".join(AdminRoleKind.values)}
        ]
    elif kind in (AdminRoleKind.DISTRICT_ADMIN, AdminRoleKind.REVIEWER):
        if not district:
            errors["district"] = [
                _("县（区）/开发区管理员和审核员必须选择南宁市的县（市、区）或开发区。")
            ]
        elif not regions.is_nanning_district(district):
            errors["district"] = [
                _("“%(code)s”不是南宁市的县（市、区）或开发区代码（如 450103 青秀区）。")
                % {"code": district}
            ]
        if department:
            errors["department"] = [_("县（区）/开发区管理员和审核员不设行业主管部门。")]
    elif kind == AdminRoleKind.INDUSTRY_ADMIN:
        if department not in industries.departments():
            errors["department"] = [
                _("行业主管部门管理员必须选择行业主管部门，代码为以下之一：%(codes)s。")
                % {"codes": "、".join(industries.departments())}
            ]
        if district:
            errors["district"] = [_("行业主管部门管理员的范围是所主管的行业，不设城区。")]
    else:
        if district:
            errors["district"] = [_("市级管理员的范围是全市，不设城区或开发区。")]
        if department:
            errors["department"] = [_("市级管理员的范围是全市，不设行业主管部门。")]
    return errors


def _password_validators() -> list[Any]:
    return get_password_validators(settings.AUTH_PASSWORD_VALIDATORS or DEFAULT_PASSWORD_VALIDATORS)


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return "" if value is None else str(value).strip()


# --- Applications -----------------------------------------------------------------------------


@transaction.atomic
def submit_application(
    *, applicant: User, data: Mapping[str, Any], ip: str | None = None
) -> AdminApplication:
    """Apply for a back-office role (管理人员账号申请). `data`: organisation, position, kind,
    district, department, reason, password. The password must pass Django's password
    validators and is stored hashed until the decision. One pending application per account;
    a role the account holds already is refused. Raises ValidationError naming the field,
    writing nothing. Audited."""
    organisation = _text(data, "organisation")
    position = _text(data, "position")
    kind = _text(data, "kind")
    district = _text(data, "district")
    department = _text(data, "department")
    reason = _text(data, "reason")
    password = data.get("password") or ""
    errors: dict[str, list[str]] = {}
    if not organisation:
        errors["organisation"] = [_("请填写所在单位（如“青秀区卫生健康局”）。")]
    elif len(organisation) > 100:
        errors["organisation"] = [_("所在单位不能超过 100 个字。")]
    if len(position) > 64:
        errors["position"] = [_("职务不能超过 64 个字。")]
    if not reason:
        errors["reason"] = [_("请填写申请理由，说明为何需要该管理角色。")]
    elif len(reason) > 500:
        errors["reason"] = [_("申请理由不能超过 500 个字。")]
    errors.update(scope_errors(kind=kind, district=district, department=department))
    if not isinstance(password, str) or not password:
        errors["password"] = [_("请设置管理系统登录密码。")]
    else:
        try:
            validate_password(password, user=applicant, password_validators=_password_validators())
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)

    # The account's row lock serialises two submissions of the same account.
    User.objects.select_for_update().get(pk=applicant.pk)
    pending = AdminApplication.objects.filter(
        applicant=applicant, status=ApplicationStatus.PENDING
    ).first()
    if pending is not None:
        raise ValidationError(
            {
                "__all__": [
                    _("您已有一份待审批的申请（%(date)s 提交），请等待审批结果后再申请。")
                    % {"date": timezone.localtime(pending.created_at).strftime("%Y-%m-%d %H:%M")}
                ]
            }
        )
    held = admin_roles(applicant).filter(
        kind=kind, district_id=district or None, department=department
    )
    if held.exists():
        raise ValidationError({"kind": [_("您已拥有该角色和范围，无需再次申请。")]})
    application = AdminApplication.objects.create(
        applicant=applicant,
        organisation=organisation,
        position=position,
        kind=kind,
        district_id=district or None,
        department=department,
        reason=reason,
        password_hash=make_password(password),
    )
    audit(
        action=AuditAction.ADMIN_APPLICATION,
        actor=applicant,
        subject=application,
        detail={
            "kind": kind,
            "district": district or None,
            "department": department or None,
            "organisation": organisation,
        },
        ip=ip,
    )
    return application


def _district_admin_districts(user: User) -> list[str]:
    return [r.district_id for r in admin_roles(user) if r.kind == AdminRoleKind.DISTRICT_ADMIN]


def may_approve_applications(user: User) -> bool:
    """City admins and district/development-zone admins approve applications; nobody else."""
    return is_city_admin(user) or bool(_district_admin_districts(user))


def require_approver(user: User) -> None:
    """403 `not_an_approver` for everyone but city and district admins (pages and API)."""
    if not may_approve_applications(user):
        raise ApiError(
            403,
            NOT_AN_APPROVER,
            _("仅市级管理员和县（区）/开发区管理员可以审批管理人员账号申请。"),
        )


def applications_in_scope(user: User) -> QuerySet[AdminApplication]:
    """The applications an approver sees: all for a city admin; for a district admin those
    asking for a role in its district or zone; none for anyone else."""
    if not getattr(user, "is_authenticated", False):
        return AdminApplication.objects.none()
    if is_city_admin(user):
        return AdminApplication.objects.all()
    return AdminApplication.objects.filter(district_id__in=_district_admin_districts(user))


def application_in_scope(user: User, application_id: object) -> AdminApplication:
    """One application the approver sees, or 404."""
    try:
        pk = int(str(application_id))
    except ValueError:
        raise Http404("no such application") from None
    return get_object_or_404(
        applications_in_scope(user).select_related("applicant", "decided_by"), pk=pk
    )


def may_decide(user: User, application: AdminApplication) -> bool:
    """A city admin decides any application; a district admin reviewers of its district."""
    if is_city_admin(user):
        return True
    return (
        application.kind == AdminRoleKind.REVIEWER
        and application.district_id in _district_admin_districts(user)
    )


def applications_of(user: User) -> QuerySet[AdminApplication]:
    """The account's own applications, newest first (what the applicant sees)."""
    if not getattr(user, "is_authenticated", False):
        return AdminApplication.objects.none()
    return AdminApplication.objects.filter(applicant=user).select_related("decided_by")


@transaction.atomic
def decide_application(
    *,
    actor: User,
    application: AdminApplication,
    approve: bool,
    note: str = "",
    ip: str | None = None,
) -> AdminApplication:
    """Approve or reject a pending application. Approval grants the role through
    `grant_admin_role` (audited there) and sets the account's password from the stored hash;
    the hash is then dropped from the application, whatever the decision. A rejection needs a
    note (the applicant is told why). Refusals: not an approver → 403; an application out of
    the approver's scope → 404; a district admin deciding anything but a reviewer of its
    district → 403 `city_admin_only`; one's own application → 403; decided already → 400."""
    require_approver(actor)
    if not applications_in_scope(actor).filter(pk=application.pk).exists():
        raise Http404("no such application")
    locked = (
        AdminApplication.objects.select_for_update()
        .select_related("applicant")
        .get(pk=application.pk)
    )
    if locked.applicant_id == actor.pk:
        raise ApiError(
            403, "own_application", _("不能审批自己的申请，请由其他有权限的管理员审批。")
        )
    if not may_decide(actor, locked):
        raise ApiError(
            403,
            "city_admin_only",
            _("该申请只能由市级管理员审批：县（区）/开发区管理员只能审批本辖区审核员的申请。"),
        )
    if locked.status != ApplicationStatus.PENDING:
        raise ApiError(
            400,
            "already_decided",
            _("该申请已审批（%(status)s），不能重复审批。")
            % {"status": locked.get_status_display()},
        )
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"note": [_("审批意见不能超过 200 个字。")]})
    if not approve and not note:
        raise ValidationError({"note": [_("不批准时必须填写审批意见，告知申请人原因。")]})
    role: AdminRole | None = None
    if approve:
        role, _created = grant_admin_role(
            phone=locked.applicant.phone,
            kind=locked.kind,
            district=locked.district_id,
            department=locked.department,
            actor=actor,
            organisation=locked.organisation,
        )
        applicant = locked.applicant
        applicant.password = locked.password_hash
        applicant.save(update_fields=["password"])
        locked.role = role
    locked.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.decision_note = note
    # The chosen password lives on in the account (approved) or nowhere (rejected).
    locked.password_hash = ""
    locked.save()
    audit(
        action=AuditAction.ADMIN_APPLICATION_DECISION,
        actor=actor,
        subject=locked,
        detail={
            "approve": approve,
            "applicant": mask_phone(locked.applicant.phone),
            "kind": locked.kind,
            "district": locked.district_id,
            "department": locked.department or None,
            "role": role.pk if role is not None else None,
            "note": note,
        },
        ip=ip,
    )
    return locked


def scope_label(*, kind: str, district: str | None, department: str, lang: str) -> str:
    """The scope of a role or application in words: the district's name, the department's
    name, or the city."""
    if district:
        return regions.describe(district, lang)
    if department:
        found = industries.departments().get(department)
        return found.name(lang) if found else department
    return _("全市")


def present_application(application: AdminApplication) -> dict[str, Any]:
    """An application as pages and API show it (phones masked, no password hash)."""
    lang = get_language() or "zh-hans"
    return {
        "id": application.pk,
        "applicant": mask_phone(application.applicant.phone),
        "organisation": application.organisation,
        "position": application.position,
        "kind": application.kind,
        "kind_label": str(AdminRoleKind(application.kind).label),
        "district": application.district_id,
        "department": application.department,
        "scope_label": scope_label(
            kind=application.kind,
            district=application.district_id,
            department=application.department,
            lang=lang,
        ),
        "reason": application.reason,
        "status": application.status,
        "status_label": str(application.get_status_display()),
        "created_at": application.created_at,
        "decided_at": application.decided_at,
        "decided_by": mask_phone(application.decided_by.phone) if application.decided_by else "",
        "decision_note": application.decision_note,
    }


def present_role(role: AdminRole) -> dict[str, Any]:
    lang = get_language() or "zh-hans"
    return {
        "id": role.pk,
        "kind": role.kind,
        "kind_label": str(AdminRoleKind(role.kind).label),
        "district": role.district_id,
        "department": role.department,
        "scope_label": scope_label(
            kind=role.kind, district=role.district_id, department=role.department, lang=lang
        ),
        "organisation": role.organisation,
        "granted_at": role.granted_at,
    }


# --- The back-office login --------------------------------------------------------------------


class LoginLocked(ApiError):
    """The back-office login of a phone is locked after repeated wrong passwords (429)."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(429, "login_locked", detail)
        self.retry_after = retry_after


def _login_limits() -> tuple[int, timedelta]:
    failures = getattr(settings, "HEALTHCODE_BACKOFFICE_LOGIN_MAX_FAILURES", 5)
    minutes = getattr(settings, "HEALTHCODE_BACKOFFICE_LOGIN_LOCK_MINUTES", 15)
    return failures, timedelta(minutes=minutes)


def _phone_key(phone: str) -> str:
    """A keyed hash of the phone: the failure ledger (the audit log) can be counted per phone
    without storing the number, and whether an account exists plays no part."""
    return salted_hmac("healthcode.backoffice.login", phone, algorithm="sha256").hexdigest()[:32]


def login_locked_for(phone: str, now: datetime | None = None) -> int:
    """Seconds until the back-office login of `phone` unlocks, 0 when it is open: locked once
    HEALTHCODE_BACKOFFICE_LOGIN_MAX_FAILURES (5) wrong passwords fall within the last
    HEALTHCODE_BACKOFFICE_LOGIN_LOCK_MINUTES (15) since the last successful login. The
    audit log is the ledger, so the count holds across processes."""
    now = now or timezone.now()
    limit, window = _login_limits()
    key = _phone_key(phone)
    since = now - window
    last_ok = AuditRecord.objects.filter(
        action=AuditAction.BACKOFFICE_LOGIN, at__gt=since, detail__phone_key=key
    ).aggregate(last=Max("at"))["last"]
    failures = list(
        AuditRecord.objects.filter(
            action=AuditAction.BACKOFFICE_LOGIN_FAILED,
            at__gt=max(since, last_ok) if last_ok else since,
            detail__phone_key=key,
        )
        .order_by("-at")
        .values_list("at", flat=True)[:limit]
    )
    if len(failures) < limit:
        return 0
    return max(1, math.ceil((failures[-1] + window - now).total_seconds()))


def check_login_password(
    *, phone: str, password: str, ip: str | None = None, now: datetime | None = None
) -> User:
    """Step 1 of the back-office login: the account's password (Django's `authenticate`).
    A wrong password or an unknown phone get the same message on "password" and are counted
    (audited as failures); after too many the phone is locked for a while (LoginLocked, 429),
    for unknown phones alike, so nothing tells whether the phone has an account. A right
    password of an account without a role in force: 403 `not_an_admin`."""
    phone = validate_phone(phone)
    now = now or timezone.now()
    wait = login_locked_for(phone, now)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        raise LoginLocked(
            ngettext(
                "该手机号登录管理系统失败次数过多，已暂时锁定，请 %(minutes)d 分钟后再试。",
                "该手机号登录管理系统失败次数过多，已暂时锁定，请 %(minutes)d 分钟后再试。",
                minutes,
            )
            % {"minutes": minutes},
            retry_after=wait,
        )
    user = authenticate(None, phone=phone, password=password or "")
    if user is None:
        audit(
            action=AuditAction.BACKOFFICE_LOGIN_FAILED,
            detail={"phone": mask_phone(phone), "phone_key": _phone_key(phone), "step": "password"},
            ip=ip,
        )
        raise ValidationError({"password": [_("手机号或密码不正确。")]})
    if not has_admin_role(user):
        raise ApiError(
            403,
            "not_an_admin",
            _("该账号没有管理系统的角色：请先申请管理人员账号，待审批通过后再登录。"),
        )
    return user


def send_login_code(*, phone: str, password: str, ip: str | None = None) -> User:
    """Step 1 then the SMS: the code is sent only after a right password (the accounts app's
    throttles apply: OtpThrottled, 429)."""
    user = check_login_password(phone=phone, password=password, ip=ip)
    request_otp(phone=user.phone, ip=ip)
    return user


def verify_login_code(*, user: User, code: str, ip: str | None = None) -> User:
    """Step 2: the SMS code sent to the account that passed step 1 (`verify_otp`: wrong,
    expired, used and locked codes raise ValidationError on "code"). The role is checked
    again; the back-office login is audited."""
    verified = verify_otp(phone=user.phone, code=code, ip=ip)
    if verified.pk != user.pk or not has_admin_role(verified):
        raise ApiError(403, "not_an_admin", _("该账号没有管理系统的角色。"))
    audit(
        action=AuditAction.BACKOFFICE_LOGIN,
        actor=verified,
        subject=verified,
        detail={"method": "password+sms_otp", "phone_key": _phone_key(verified.phone)},
        ip=ip,
    )
    return verified


def backoffice_login(*, phone: str, password: str, code: str, ip: str | None = None) -> User:
    """Both steps at once (the API's token call): password, then the SMS code."""
    user = check_login_password(phone=phone, password=password, ip=ip)
    return verify_login_code(user=user, code=code, ip=ip)
