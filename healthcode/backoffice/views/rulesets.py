"""Back-office pages of the rule sets (规则集). Thin doors onto healthcode.codes.rulesets_store,
like the API:

- `/backoffice/rulesets`: the rule set in force (`#ruleset-in-force`), the progress of its
  re-derivation (`#rederive-progress`), the history (`#ruleset-history`) and, for city admins,
  the editor: the data as JSON (`#id_data`), a note (`#id_note`), "dry run" (`#dry-run`) and
  "publish" (`#publish`). Validation errors are listed per rule and field (`#ruleset-errors`).
  `?dry_run=<job>` shows that dry run: its progress (`#job-progress`) and, once done, its
  counts (`#dry-run-result`: `#dry-run-matrix`, `#dry-run-by-district`), with its data in the
  editor so that "publish" sends exactly the data that was dry-run. `?rederive=<job>` follows
  a re-derivation.
- `POST /backoffice/rulesets/dry-run` (data): starts the dry run, then `?dry_run=<job>`.
- `POST /backoffice/rulesets/publish` (data, note, dry_run_job): publishes, then
  `?rederive=<job>`.
- `/backoffice/rulesets/<id>`: one published version's data (`#ruleset-data`).

Every back-office admin may look; only city admins run dry runs and publish (403 otherwise).
rulesets.js polls the jobs' progress (GET /api/v1/admin/rulesets/jobs/<id>) and reloads the
page when a dry run finishes; without JavaScript a reload shows the same.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from healthcode.accounts.auth import client_ip
from healthcode.accounts.permissions import is_city_admin
from healthcode.backoffice.auth import backoffice_required
from healthcode.codes import rulesets_store
from healthcode.codes.choices import Color
from healthcode.codes.models import RuleSetVersion
from healthcode.jobs.models import Job, JobStatus
from healthcode.lib.errors import ApiError

COLORS = ("green", "yellow", "red")


def _color_label(color: str) -> str:
    return str(Color(color).label) if color in Color.values else color


def _require_city_admin(request: HttpRequest) -> None:
    if not is_city_admin(request.user):
        raise PermissionDenied(_("仅市级管理员可以试运行和发布规则集。"))


def _pretty(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def _job_of(kind: str, value: str | None) -> Job | None:
    try:
        pk = int(value or "")
    except ValueError:
        return None
    return Job.objects.filter(pk=pk, kind=kind).first()


def _job_url(job: Job) -> str:
    return reverse("api:rulesets_job", kwargs={"job_id": job.pk})


def _error_items(exc: ValidationError) -> list[dict[str, str]]:
    """Each message with the rule and field it names ("return_region.regions[0].color:
    unknown colour …"), so the page can show where the problem is."""
    items = []
    for field, texts in exc.message_dict.items():
        for text in texts:
            where, sep, message = text.partition(": ")
            if sep and " " not in where:
                items.append({"field": field, "where": where, "message": message})
            else:
                items.append({"field": field, "where": "", "message": text})
    return items


def _matrix_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    colors = list(COLORS)
    matrix = result.get("matrix") or {}
    return [
        {
            "color": old,
            "label": _color_label(old),
            "cells": [
                {"color": new, "count": (matrix.get(old) or {}).get(new, 0), "changed": old != new}
                for new in colors
            ],
        }
        for old in colors
    ]


def _dry_run_context(job: Job) -> dict[str, Any]:
    """What the page shows of a dry run, and whether it licenses publication now."""
    context: dict[str, Any] = {
        "dry_run_job": job,
        "dry_run_url": _job_url(job),
        "dry_run_running": job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
    }
    if job.status == JobStatus.DONE:
        result = job.result
        context["dry_run_result"] = result
        context["dry_run_at"] = datetime.fromisoformat(result["evaluated_at"])
        context["dry_run_matrix"] = _matrix_rows(result)
        context["dry_run_by_district"] = [
            {**row, "from_label": _color_label(row["from"]), "to_label": _color_label(row["to"])}
            for row in result.get("by_district", [])
        ]
        try:
            rulesets_store.matching_dry_run(job.pk, job.params.get("data_hash", ""))
        except ValidationError as exc:
            context["publish_blocked"] = exc.messages
        else:
            context["may_publish"] = True
    return context


def _page(
    request: HttpRequest,
    *,
    data_text: str | None = None,
    note: str = "",
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
) -> TemplateResponse:
    overview = rulesets_store.overview()
    in_force = overview["in_force"]
    context: dict[str, Any] = {
        "in_force": in_force,
        "history": overview["history"],
        "may_edit": is_city_admin(request.user),
        "note": note,
        "errors": errors or [],
        "color_labels": [_color_label(color) for color in COLORS],
    }
    dry_job = _job_of(rulesets_store.DRY_RUN_KIND, request.GET.get("dry_run"))
    if dry_job is not None:
        context.update(_dry_run_context(dry_job))
    rederive = _job_of(
        rulesets_store.REDERIVE_KIND,
        request.GET.get("rederive") or str(in_force.get("rederive_job") or ""),
    )
    context["rederive_job"] = rederive
    context["rederive_url"] = _job_url(rederive) if rederive is not None else ""
    context["rederive_running"] = rederive is not None and rederive.status in (
        JobStatus.QUEUED,
        JobStatus.RUNNING,
    )
    if data_text is None:
        data_text = _pretty(dry_job.params["data"] if dry_job is not None else in_force["data"])
    context["data_text"] = data_text
    return TemplateResponse(request, "backoffice/rulesets_index.html", context, status=status)


@backoffice_required
@require_GET
def rulesets_page(request: HttpRequest) -> TemplateResponse:
    """The rule set in force, the history and (city admins) the editor."""
    return _page(request)


@backoffice_required
@require_POST
def dry_run(request: HttpRequest) -> HttpResponse:
    """Validate the edited data and start its dry run; the errors when it is not valid."""
    _require_city_admin(request)
    text = request.POST.get("data", "")
    try:
        data = rulesets_store.parse_data(text)
        job = rulesets_store.start_dry_run(actor=request.user, data=data, ip=client_ip(request))
    except ValidationError as exc:
        return _page(
            request,
            data_text=text,
            note=request.POST.get("note", ""),
            errors=_error_items(exc),
            status=400,
        )
    except ApiError as exc:
        raise PermissionDenied(exc.detail) from None
    return redirect(f"{reverse('backoffice:rulesets')}?dry_run={job.pk}")


@backoffice_required
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    """Publish the data of a finished dry run; every code is then re-derived."""
    _require_city_admin(request)
    text = request.POST.get("data", "")
    note = request.POST.get("note", "")
    try:
        data = rulesets_store.parse_data(text)
        version, job = rulesets_store.publish_rule_set(
            actor=request.user,
            data=data,
            note=note,
            dry_run_job_id=request.POST.get("dry_run_job") or None,
            ip=client_ip(request),
        )
    except ValidationError as exc:
        return _page(request, data_text=text, note=note, errors=_error_items(exc), status=400)
    except ApiError as exc:
        raise PermissionDenied(exc.detail) from None
    messages.success(
        request,
        _("已发布规则集 %(label)s，正在按新规则重新判定全部健康码。")
        % {"label": f"{version.rule_set_id}@{version.version}"},
    )
    return redirect(f"{reverse('backoffice:rulesets')}?rederive={job.pk}")


@backoffice_required
@require_GET
def version_page(request: HttpRequest, version_id: int) -> TemplateResponse:
    """One published version: who published it, when, why, its dry run and its data."""
    version = get_object_or_404(
        RuleSetVersion.objects.select_related("published_by"), pk=version_id
    )
    shown = rulesets_store.present_version(version, with_data=True)
    context = {"version": shown, "data_text": _pretty(shown["data"])}
    return TemplateResponse(request, "backoffice/rulesets_version.html", context)


urlpatterns = [
    path("rulesets", rulesets_page, name="rulesets"),
    path("rulesets/dry-run", dry_run, name="ruleset_dry_run"),
    path("rulesets/publish", publish, name="ruleset_publish"),
    path("rulesets/<int:version_id>", version_page, name="ruleset_version"),
]
