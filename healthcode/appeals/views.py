"""Pages of appeals (申诉) — thin doors onto healthcode.appeals.services, like the API.

Residents (logged in):
- `/appeals/`: my appeals with status and deadline (`#appeals`, one row `#appeal-<id>`);
- `/appeals/new?code=<public_id>`: the form (`#id_subject`, `#id_record_id`, `#id_text`,
  `#id_attachments` multiple, `#submit-appeal`); a code the account does not hold → 404;
- `/appeals/<id>`: status, deadline, outcome (`#status`, `#deadline`, `#outcome`);
  `/appeals/<id>/attachments/<n>`: one's own image.

Back office (@backoffice_required; reviewers, district admins, city admins — others 403):
- `/appeals/queue`: appeals assigned to me or in my scope (`#appeal-queue`, `#appeal-<id>`);
- `/appeals/queue/<id>`: one appeal in scope (404 otherwise): take it up (`#start-review`),
  note (`#note`), uphold (`#uphold`), dismiss (`#dismiss`); images through
  `/appeals/queue/<id>/attachments/<n>` (scope checked, audited — never a public URL).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import code_for_holder, codes_visible_to
from healthcode.appeals import services
from healthcode.appeals.choices import OPEN_STATUSES, AppealSubject
from healthcode.backoffice.auth import backoffice_required
from healthcode.codes import reviews
from healthcode.lib.errors import ApiError


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        # Templates cannot read "__all__": errors not tied to a field are "general".
        return {
            ("general" if field == "__all__" else field): [str(m) for m in msgs]
            for field, msgs in exc.message_dict.items()
        }
    return {"general": [str(m) for m in exc.messages]}


# --- Residents ------------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> TemplateResponse:
    appeals = services.appeals_of(request.user).select_related("code")
    return TemplateResponse(
        request,
        "appeals/index.html",
        {
            "appeals": [services.present(a) for a in appeals],
            "codes": codes_visible_to(request.user).order_by("created_at"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    code = code_for_holder(request.user, request.GET.get("code", ""))
    errors: dict[str, list[str]] = {}
    values = {"subject": AppealSubject.COLOR, "text": "", "record_id": ""}
    if request.method == "POST":
        values = {
            "subject": request.POST.get("subject", ""),
            "text": request.POST.get("text", ""),
            "record_id": request.POST.get("record_id", ""),
        }
        try:
            appeal = services.submit_appeal(
                account=request.user,
                code=code,
                subject=values["subject"],
                text=values["text"],
                files=request.FILES.getlist("attachments"),
                record_id=values["record_id"] or None,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            errors = _errors(exc)
        except ApiError as exc:
            errors = {"general": [exc.detail]}
        else:
            messages.success(request, _("申诉已提交，请留意处理进展。"))
            return redirect("appeals:detail", pk=appeal.pk)
    return TemplateResponse(
        request,
        "appeals/new.html",
        {
            "code": code,
            "errors": errors,
            "values": values,
            "subjects": AppealSubject.choices,
            "max_files": services.MAX_FILES,
        },
        status=400 if errors else 200,
    )


@login_required
def detail(request: HttpRequest, pk: int) -> TemplateResponse:
    appeal = services.appeal_of(request.user, pk)
    return TemplateResponse(request, "appeals/detail.html", {"appeal": services.present(appeal)})


@login_required
def own_attachment(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    appeal = services.appeal_of(request.user, pk)
    return services.attachment_response(services.attachment_of(appeal, number))


# --- Back office ----------------------------------------------------------------------------


def _require_reviewer(request: HttpRequest) -> None:
    if not reviews.may_review(request.user):
        raise PermissionDenied(
            _("仅审核员、城区（开发区）管理员和市级管理员可以处理申诉。")
        )


@backoffice_required
def queue(request: HttpRequest) -> TemplateResponse:
    _require_reviewer(request)
    appeals = services.appeals_in_scope(request.user).select_related(
        "code", "assigned_to", "decided_by"
    )
    show = request.GET.get("show", "open")
    if show != "all":
        appeals = appeals.filter(status__in=OPEN_STATUSES)
    items = [services.present(a, for_staff=True) for a in services.queue_order(appeals)]
    mine = [i for i in items if i["assigned_to_id"] == request.user.pk]
    others = [i for i in items if i["assigned_to_id"] != request.user.pk]
    return TemplateResponse(
        request,
        "appeals/queue.html",
        {"items": mine + others, "show": show, "wide_layout": True},
    )


@backoffice_required
@require_http_methods(["GET", "POST"])
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reviewer(request)
    appeal = services.appeal_in_scope(request.user, pk)
    errors: dict[str, list[str]] = {}
    note = ""
    if request.method == "POST":
        note = request.POST.get("note", "")
        action = request.POST.get("action", "")
        if action not in ("uphold", "dismiss"):
            errors = {"action": [_("请选择“申诉成立”或“申诉不成立”。")]}
        else:
            try:
                services.decide_appeal(
                    reviewer=request.user,
                    appeal=appeal,
                    upheld=action == "uphold",
                    note=note,
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                errors = _errors(exc)
            except ApiError as exc:
                errors = {"general": [exc.detail]}
            else:
                messages.success(request, _("已处理该申诉。"))
                return redirect("appeals:staff_detail", pk=appeal.pk)
    return TemplateResponse(
        request,
        "appeals/staff_detail.html",
        {
            "appeal": services.present(appeal, for_staff=True),
            "is_open": appeal.is_open,
            "errors": errors,
            "note": note,
            "wide_layout": True,
        },
        status=400 if errors else 200,
    )


@backoffice_required
@require_POST
def staff_start(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reviewer(request)
    appeal = services.appeal_in_scope(request.user, pk)
    try:
        services.start_review(reviewer=request.user, appeal=appeal, ip=client_ip(request))
    except ApiError as exc:
        messages.error(request, exc.detail)
    return redirect("appeals:staff_detail", pk=appeal.pk)


@backoffice_required
def staff_attachment(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    _require_reviewer(request)
    appeal = services.appeal_in_scope(request.user, pk)
    attachment = services.attachment_of(appeal, number)
    services.audit_attachment_view(
        viewer=request.user, attachment=attachment, ip=client_ip(request)
    )
    return services.attachment_response(attachment)

