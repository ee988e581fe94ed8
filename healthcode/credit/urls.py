"""Pages of the credit app: `/credit/admin`, the back-office list of dishonesty records in
scope (`#credit-records`, a row `#record-<id>` each) and of failed deliveries to the credit
platform (`#failed-deliveries`, a row `#message-<id>` each). Reviewers, district admins and
city admins; other admins 403; visitors the back-office login."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.http import require_GET

from healthcode.backoffice.auth import backoffice_required
from healthcode.codes.reviews import may_review
from healthcode.credit import services
from healthcode.credit.choices import MessageStatus

app_name = "credit"


@require_GET
@backoffice_required
def admin_page(request: HttpRequest) -> HttpResponse:
    """Records in scope and the deliveries that failed (so an admin can act on them)."""
    if not may_review(request.user):
        raise PermissionDenied
    records = services.records_in_scope(request.user).select_related("code")[:500]
    failed = (
        services.messages_in_scope(request.user)
        .filter(status=MessageStatus.FAILED)
        .select_related("record")
        .order_by("-created_at", "-id")[:500]
    )
    return TemplateResponse(request, "credit/admin.html", {"records": records, "failed": failed})


urlpatterns = [path("admin", admin_page, name="admin")]
