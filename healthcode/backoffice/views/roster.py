"""Back-office pages of the roster (花名册) and its exports: thin doors onto
healthcode.backoffice.roster and .roster_export, like the API.

- `/backoffice/roster?district=&color=&…`: the filter form (`#id_district`, `#id_color`,
  `#id_enterprise`, `#id_person`, `#id_returned_to_work`, `#id_returned_from_elsewhere`,
  `#id_arrival_from`, `#id_arrival_to`, submit `#filter`), the table `#roster` with the SPEC §6
  columns, paging, the export buttons (`#export-xlsx`, `#export-csv`, `#export-job`,
  `#export-stats-xlsx`, `#export-stats-csv`) and, with `&job=<id>`, that job's progress bar
  `#job-progress` (polled by roster.js) and its download link `#job-download`. The statistics
  page links here with its filters in the query string.
- `/backoffice/roster/export?format=xlsx|csv&…`: the file, or (when large) a background job and
  back to the roster page showing its progress;
- `POST /backoffice/roster/export-job`: always a background job;
- `/backoffice/roster/stats-export?format=&…`: codes by colour × district;
- `/backoffice/roster/jobs/<id>/download`: a job's file, for its requester only (404 otherwise).

City, district / development-zone and industry-department admins (403 for reviewers and
accounts without a role; the back-office login first).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import may_unmask
from healthcode.backoffice import roster, roster_export
from healthcode.backoffice.auth import backoffice_required
from healthcode.enterprises import exports
from healthcode.jobs.models import Job, JobStatus
from healthcode.lib.errors import ApiError


def _require_access(request: HttpRequest) -> None:
    try:
        roster.require_roster_access(request.user)
    except ApiError as exc:
        raise PermissionDenied(exc.detail) from None


def _query(filters: roster.RosterFilter, **extra: Any) -> str:
    params = {**filters.as_params(), **{k: v for k, v in extra.items() if v not in (None, "")}}
    return urlencode(params)


def _own_job(request: HttpRequest) -> Job | None:
    try:
        return roster_export.job_of_requester(request.user, request.GET.get("job", ""))
    except Http404:
        return None


def _render(
    request: HttpRequest,
    form: roster.RosterFilterForm,
    *,
    page: roster.RosterPage | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> TemplateResponse:
    filters = page.filters if page else roster.RosterFilter()
    unmask = "1" if page and not page.masked else ""
    page_size = page.page_size if page and page.page_size != roster.DEFAULT_PAGE_SIZE else None
    links: dict[str, str] = {}
    if page:
        if page.page > 1:
            links["previous"] = "?" + _query(
                filters, page=page.page - 1, page_size=page_size, unmask=unmask
            )
        if page.page < page.pages:
            links["next"] = "?" + _query(
                filters, page=page.page + 1, page_size=page_size, unmask=unmask
            )
    job = _own_job(request)
    context = {
        "form": form,
        "page": page,
        "columns": [str(label) for _key, label in roster.COLUMNS],
        "column_keys": [key for key, _label in roster.COLUMNS],
        "links": links,
        "export_query": _query(filters, unmask=unmask),
        "hidden_filters": filters.as_params(),
        "can_unmask": may_unmask(request.user),
        "unmasked": bool(unmask),
        "errors": errors or [],
        "job": job,
        "job_finished": job is not None and job.status in (JobStatus.DONE, JobStatus.FAILED),
    }
    return TemplateResponse(request, "backoffice/roster_page.html", context, status=status)


@backoffice_required
@require_GET
def roster_page(request: HttpRequest) -> TemplateResponse:
    """The roster of the admin's scope, filtered, sorted and paged."""
    _require_access(request)
    form = roster.RosterFilterForm(data=request.GET)
    try:
        asked = roster.parse_request(request.GET)
    except ValidationError:
        form.is_valid()  # the bound form shows the errors by their fields
        return _render(request, form, status=400)
    page = roster.roster_page(user=request.user, request=asked, ip=client_ip(request))
    return _render(request, form, page=page)


def _export_error(request: HttpRequest, exc: ValidationError) -> TemplateResponse:
    form = roster.RosterFilterForm(data=request.GET)
    form.is_valid()
    messages = exc.message_dict.get("format", []) if hasattr(exc, "error_dict") else exc.messages
    return _render(request, form, errors=messages, status=400)


@backoffice_required
@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    """The filtered roster as XLSX or CSV, or — when large — a background job whose progress
    the roster page then shows."""
    _require_access(request)
    params = request.GET.copy()
    fmt = params.pop("format", ["xlsx"])[-1]
    try:
        asked = roster.parse_request(params)
        outcome = roster_export.request_roster_export(
            actor=request.user,
            filters=asked.filters,
            fmt=fmt,
            unmask=asked.unmask,
            ip=client_ip(request),
        )
    except ValidationError as exc:
        return _export_error(request, exc)
    if isinstance(outcome, Job):
        return redirect(f"{reverse('backoffice:roster')}?{_query(asked.filters, job=outcome.pk)}")
    return exports.response(outcome)


@backoffice_required
@require_POST
def export_job(request: HttpRequest) -> HttpResponse:
    """Start a background export of the filtered roster and show its progress."""
    _require_access(request)
    params = request.POST.copy()
    params.pop("csrfmiddlewaretoken", None)
    fmt = params.pop("format", ["xlsx"])[-1]
    try:
        asked = roster.parse_request(params)
        job = roster_export.start_roster_export_job(
            actor=request.user,
            filters=asked.filters,
            fmt=fmt,
            unmask=asked.unmask,
            ip=client_ip(request),
        )
    except ValidationError as exc:
        return _export_error(request, exc)
    return redirect(f"{reverse('backoffice:roster')}?{_query(asked.filters, job=job.pk)}")


@backoffice_required
@require_GET
def stats_export(request: HttpRequest) -> HttpResponseBase:
    """Codes by colour × district for the roster's filters, as XLSX or CSV."""
    _require_access(request)
    params = request.GET.copy()
    fmt = params.pop("format", ["xlsx"])[-1]
    try:
        asked = roster.parse_request(params)
        outcome = roster_export.export_roster_stats(
            actor=request.user, filters=asked.filters, fmt=fmt, ip=client_ip(request)
        )
    except ValidationError as exc:
        return _export_error(request, exc)
    return exports.response(outcome)


@backoffice_required
@require_GET
def job_download(request: HttpRequest, job_id: int) -> HttpResponseBase:
    """A finished job's file, for the account that started it (404 for anyone else)."""
    try:
        return roster_export.job_download(user=request.user, job_id=job_id, ip=client_ip(request))
    except ApiError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain; charset=utf-8")


urlpatterns = [
    path("roster", roster_page, name="roster"),
    path("roster/export", export, name="roster_export"),
    path("roster/export-job", export_job, name="roster_export_job"),
    path("roster/stats-export", stats_export, name="roster_stats_export"),
    path("roster/jobs/<int:job_id>/download", job_download, name="roster_job_download"),
]
