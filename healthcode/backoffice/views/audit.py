"""The audit log viewer (/backoffice/audit): city admins only (others with a back-office role
403); filters actor (phone), action, subject type and id, time range; 50 a page, newest
first. The rules live in healthcode.backoffice.auditlog, shared with the API."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.http import urlencode

from healthcode.audit.choices import AuditAction
from healthcode.backoffice import auditlog
from healthcode.backoffice.auth import backoffice_required
from healthcode.lib.errors import ApiError


@backoffice_required
def audit_log(request: HttpRequest) -> TemplateResponse:
    """One page of audit records matching the query string's filters."""
    try:
        auditlog.require_audit_viewer(request.user)
    except ApiError as exc:
        raise PermissionDenied(exc.detail) from None
    filters = {name: request.GET.get(name, "") for name in auditlog.FILTERS}
    errors: dict[str, list[str]] = {}
    try:
        result = auditlog.audit_log(viewer=request.user, filters=filters)
    except ValidationError as exc:
        errors = exc.message_dict
        result = {"page": 1, "page_size": auditlog.PAGE_SIZE, "has_next": False, "items": []}
    for item in result["items"]:
        item["detail_json"] = json.dumps(item["detail"], ensure_ascii=False, sort_keys=True)
    kept = {k: v for k, v in filters.items() if v and k != "page"}
    context = {
        "filters": filters,
        "errors": errors,
        "result": result,
        "actions": AuditAction.choices,
        "previous_query": urlencode({**kept, "page": result["page"] - 1}),
        "next_query": urlencode({**kept, "page": result["page"] + 1}),
    }
    return TemplateResponse(request, "backoffice/audit_log.html", context)


urlpatterns = [path("audit", audit_log, name="audit")]
