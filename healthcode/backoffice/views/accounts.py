"""Back-office account pages: the login (password, then an SMS code), the back-office home,
the application for an admin account (any logged-in account) and the approvers' queue.

- /backoffice/login: step 1 phone + password (POST action=password) sends the SMS code;
  step 2 the code (action=verify; action=resend sends a new one). Only after both: django
  login and `mark_backoffice_verified`, then a same-site `next` or the home page.
- /backoffice/: the nav and the account's roles (@backoffice_required).
- /backoffice/apply: apply and see one's applications (a plain login suffices: applicants
  have no role yet).
- /backoffice/applications (+ /<id>/decision): city and district admins (others 403);
  applications outside the approver's scope 404, a decision it may not take 403.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.models import User
from healthcode.accounts.permissions import admin_roles
from healthcode.accounts.services import code_sent_message, request_otp
from healthcode.backoffice import applications as service
from healthcode.backoffice.auth import backoffice_required, mark_backoffice_verified
from healthcode.backoffice.choices import AdminRoleKind, ApplicationStatus
from healthcode.enterprises import industries
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_phone
from healthcode.regions import services as regions

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# Between the two steps the session remembers who passed the password, for this long.
PENDING_KEY = "backoffice_login_pending"
PENDING_SECONDS = 600


# --- Forms: they carry and show the fields; the rules live in the services -----------------


class LoginForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("手机号"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "numeric",
                "autocomplete": "username",
                "maxlength": "20",
            }  # fmt: skip
        ),
    )
    password = forms.CharField(
        label=gettext_lazy("密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=gettext_lazy("短信验证码"),
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "6"}
        ),
    )


def _district_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(r.code, r.name) for r in regions.nanning_districts()]


def _department_choices() -> list[tuple[str, str]]:
    return [("", "—")] + industries.department_choices()


class ApplicationForm(forms.Form):
    organisation = forms.CharField(label=gettext_lazy("所在单位"), required=False, max_length=100)
    position = forms.CharField(label=gettext_lazy("职务"), required=False, max_length=64)
    kind = forms.ChoiceField(
        label=gettext_lazy("申请角色"), required=False, choices=AdminRoleKind.choices
    )
    district = forms.ChoiceField(
        label=gettext_lazy("管辖城区/开发区（县区管理员、审核员）"),
        required=False,
        choices=_district_choices,
    )
    department = forms.ChoiceField(
        label=gettext_lazy("行业主管部门（行业主管部门管理员）"),
        required=False,
        choices=_department_choices,
    )
    reason = forms.CharField(
        label=gettext_lazy("申请理由"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": "500"}),
    )
    password = forms.CharField(
        label=gettext_lazy("管理系统登录密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("再次输入密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Only the page has a confirmation field; the service checks the password itself.
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return data


# --- Helpers --------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("backoffice:home")


def _pending_user(request: HttpRequest) -> User | None:
    """The account that passed the password step in this session, if still fresh."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    at = parse_datetime(str(pending.get("at", "")))
    if at is None or (timezone.now() - at).total_seconds() > PENDING_SECONDS:
        return None
    return User.objects.filter(pk=pending.get("user"), is_active=True).first()


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Field errors by their field; anything the form has no field for above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- Login ----------------------------------------------------------------------------------


@sensitive_post_parameters("password", "code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """The back-office login: password (#login-password), then the SMS code (#login-code)."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = LoginForm(request.POST or None)
    step = "password"
    notice = ""
    if request.method == "POST":
        form.is_valid()
        data = form.cleaned_data
        action = request.POST.get("action", "password")
        ip = client_ip(request)
        pending = _pending_user(request)
        if action == "password":
            request.session.pop(PENDING_KEY, None)
            try:
                user = service.check_login_password(
                    phone=data.get("phone", ""), password=data.get("password", ""), ip=ip
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            except ApiError as exc:
                form.add_error(None, exc.detail)
            else:
                request.session[PENDING_KEY] = {"user": user.pk, "at": timezone.now().isoformat()}
                step = "code"
                try:
                    request_otp(phone=user.phone, ip=ip)
                except ApiError as exc:
                    # Throttled: an earlier code may still be valid, so offer the code field.
                    form.add_error(None, exc.detail)
                else:
                    notice = code_sent_message()
        elif pending is None:
            form.add_error(None, _("登录已超时，请重新输入手机号和密码。"))
        elif action == "resend":
            step = "code"
            try:
                request_otp(phone=pending.phone, ip=ip)
            except ApiError as exc:
                form.add_error(None, exc.detail)
            else:
                notice = code_sent_message()
        else:
            step = "code"
            try:
                user = service.verify_login_code(user=pending, code=data.get("code", ""), ip=ip)
            except ValidationError as exc:
                _add_errors(form, exc)
            except ApiError as exc:
                form.add_error(None, exc.detail)
            else:
                request.session.pop(PENDING_KEY, None)
                # login() may start a new session (another account was logged in), so the
                # back-office mark comes after it.
                auth_login(request, user, backend=MODEL_BACKEND)
                mark_backoffice_verified(request)
                return HttpResponseRedirect(_safe_next(request, next_url))
    pending = _pending_user(request) if step == "code" else None
    context = {
        "form": form,
        "step": step,
        "notice": notice,
        "next": next_url,
        "pending_phone": mask_phone(pending.phone) if pending else "",
    }
    return TemplateResponse(request, "backoffice/accounts_login.html", context)


# --- Home -----------------------------------------------------------------------------------


@backoffice_required
def home(request: HttpRequest) -> TemplateResponse:
    """The back-office home: the nav and the account's roles in force."""
    roles = [
        service.present_role(r)
        for r in admin_roles(request.user).select_related("district").order_by("granted_at", "pk")
    ]
    context = {"roles": roles, "is_superuser": request.user.is_superuser}
    return TemplateResponse(request, "backoffice/accounts_home.html", context)


# --- Applying -------------------------------------------------------------------------------


@sensitive_post_parameters("password", "password2")
@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    """Apply for a back-office account, and see one's applications and their status."""
    mine = list(service.applications_of(request.user).order_by("-created_at", "-pk")[:20])
    has_pending = any(a.status == ApplicationStatus.PENDING for a in mine)
    form = ApplicationForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                service.submit_application(
                    applicant=request.user, data=form.cleaned_data, ip=client_ip(request)
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("申请已提交，请等待审批。"))
                return redirect("backoffice:apply")
    context = {
        "form": form,
        "applications": [service.present_application(a) for a in mine],
        "has_pending": has_pending,
    }
    return TemplateResponse(request, "backoffice/accounts_apply.html", context)


# --- Approving ------------------------------------------------------------------------------


def _require_approver(request: HttpRequest) -> None:
    try:
        service.require_approver(request.user)
    except ApiError as exc:
        raise PermissionDenied(exc.detail) from None


@backoffice_required
def applications(request: HttpRequest) -> TemplateResponse:
    """Pending applications in the approver's scope (oldest first), with approve/reject where
    the approver may decide, and the latest decisions."""
    _require_approver(request)
    scope = service.applications_in_scope(request.user).select_related("applicant", "decided_by")
    pending = []
    for application in scope.filter(status=ApplicationStatus.PENDING).order_by("created_at", "pk"):
        item = service.present_application(application)
        item["may_decide"] = application.applicant_id != request.user.pk and service.may_decide(
            request.user, application
        )
        pending.append(item)
    decided = [
        service.present_application(a)
        for a in scope.exclude(status=ApplicationStatus.PENDING).order_by("-decided_at", "-pk")[:20]
    ]
    context = {"pending": pending, "decided": decided}
    return TemplateResponse(request, "backoffice/accounts_applications.html", context)


@backoffice_required
@require_POST
def decide(request: HttpRequest, application_id: int) -> HttpResponse:
    """Approve (decision=approve) or reject (decision=reject, with a note)."""
    _require_approver(request)
    application = service.application_in_scope(request.user, application_id)
    approve = request.POST.get("decision") == "approve"
    try:
        service.decide_application(
            actor=request.user,
            application=application,
            approve=approve,
            note=request.POST.get("note", ""),
            ip=client_ip(request),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except ApiError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.detail) from None
        messages.error(request, exc.detail)
    else:
        phone = service.present_application(application)["applicant"]
        text = _("已批准 %(phone)s 的申请。") if approve else _("未批准 %(phone)s 的申请。")
        messages.success(request, text % {"phone": phone})
    return redirect("backoffice:applications")


urlpatterns = [
    path("", home, name="home"),
    path("login", login, name="login"),
    path("apply", apply, name="apply"),
    path("applications", applications, name="applications"),
    path("applications/<int:application_id>/decision", decide, name="decide_application"),
]
