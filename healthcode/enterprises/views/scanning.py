"""The scanner's pages (一码通城 扫一扫), mobile first: choose the enterprise to scan for, and
the scanner page itself, which decodes the QR in the browser (camera or photo, with the
vendored jsQR) or takes a pasted payload, and talks to POST /api/v1/scans — the same service
as the API, so the page has no rule of its own."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from healthcode.accounts.permissions import enterprises_scannable_by
from healthcode.codes.choices import Symptom
from healthcode.codes.forms import TEMPERATURE_MAX, TEMPERATURE_MIN
from healthcode.enterprises.attendance import fever_threshold, scannable_enterprise
from healthcode.lib.errors import ApiError


@login_required
@require_GET
def scan_index(request: HttpRequest) -> TemplateResponse:
    """The enterprises this account may scan for, each linking to its scanner page."""
    enterprises = enterprises_scannable_by(request.user).order_by("name", "pk")
    return TemplateResponse(request, "enterprises/scan_index.html", {"enterprises": enterprises})


@login_required
@require_GET
def scan_page(request: HttpRequest, enterprise_id: int) -> TemplateResponse:
    """The scanner page of one enterprise: 404 when it is no approved enterprise, 403 when
    the account has no scan permission there (as the scan API answers)."""
    try:
        enterprise = scannable_enterprise(request.user, enterprise_id)
    except ApiError as exc:
        raise PermissionDenied(exc.detail) from None
    context = {
        "enterprise": enterprise,
        "scan_url": reverse("api:scan"),
        "symptoms": Symptom.choices,
        "temperature_min": TEMPERATURE_MIN,
        "temperature_max": TEMPERATURE_MAX,
        "fever_threshold": fever_threshold(),
    }
    return TemplateResponse(request, "enterprises/scan_page.html", context)


urlpatterns = [
    path("scan", scan_index, name="scan_index"),
    path("<int:enterprise_id>/scan", scan_page, name="scan"),
]
