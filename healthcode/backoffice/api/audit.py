"""The audit log in the API: `GET /api/v1/admin/audit?actor=&action=&subject_type=&subject_id=
&since=&until=&page=` — city admins only (others 403 `city_admin_only`); 50 records a page,
newest first; bad filters 400 naming the field (healthcode.backoffice.auditlog)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.backoffice import auditlog

router = Router()


class AuditQuery(Schema):
    # Strings, so that the service names a bad value with its rule.
    actor: str | None = Field(None, description="the actor's phone")
    action: str | None = Field(None, description="an audit action, e.g. admin_role_grant")
    subject_type: str | None = Field(None, description="e.g. enterprises.enterprise")
    subject_id: str | None = None
    since: str | None = Field(None, description="YYYY-MM-DD or an ISO date-time, inclusive")
    until: str | None = Field(None, description="YYYY-MM-DD (whole day) or an ISO date-time")
    page: str | None = Field(None, description="from 1")


class AuditItem(Schema):
    id: int
    at: datetime
    actor: str = Field(description="masked phone; empty for the system")
    action: str
    action_label: str
    subject_type: str
    subject_id: str
    detail: dict[str, Any]
    ip: str | None


class AuditPage(Schema):
    page: int
    page_size: int
    has_next: bool
    items: list[AuditItem]


@router.get(
    "/audit",
    response={200: AuditPage, 400: ErrorsOut, 401: ErrorOut, 403: ErrorOut},
    summary="The audit log, filtered (city admins only)",
)
def audit_log(request: HttpRequest, filters: Query[AuditQuery]) -> dict:
    return auditlog.audit_log(viewer=request.user, filters=filters.dict())
