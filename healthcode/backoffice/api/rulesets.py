"""API of the rule sets (规则集), under /api/v1/admin/rulesets…: thin doors onto
healthcode.codes.rulesets_store.

Every back-office account (any admin role) may read the rule set in force, the history and
the progress of rule-set jobs (the router's `admin_auth`: 401 without a back-office token or
verified session, 403 `not_an_admin` without a role). Only city admins run dry runs and
publish: any other admin gets 403 `city_admin_only`.

- `GET /rulesets`: the rule set in force (with its data) and the published versions.
- `GET /rulesets/{id}`: one published version with its data.
- `POST /rulesets/dry-run` {"data"}: 202 {"job"}, or 400 {"errors": {"data": ["<rule>.<field>:
  <message>", ...]}} and nothing started.
- `POST /rulesets` {"data", "note", "dry_run_job"}: 201 {"version", "rederive_job"}; 400 on
  `dry_run_job` without a finished dry run of exactly this data within the last hour.
- `GET /rulesets/jobs/{id}`: progress and result of a dry run or a re-derivation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from healthcode.accounts.auth import client_ip
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.codes import rulesets_store
from healthcode.codes.models import RuleSetVersion
from healthcode.jobs.models import Job
from healthcode.jobs.services import present_job

router = Router(tags=["admin: rule sets"])


# --- Schemas -------------------------------------------------------------------------------------


class VersionOut(Schema):
    id: int | None = Field(description="the published version's id; null for the packaged default")
    rule_set_id: str
    version: int
    name_zh: str
    name_en: str
    note: str
    published_at: datetime | None
    published_by: str = Field(description="masked phone of the city admin who published it")
    dry_run: dict[str, Any] = Field(
        description="what the dry run counted before publication (codes, changed, changes), "
        "with its job id and the re-derivation job's id"
    )
    rederive_job: int | None


class VersionDataOut(VersionOut):
    data: dict[str, Any] = Field(description="the rule set as data (rules.load_rule_set format)")


class InForceOut(VersionDataOut):
    packaged: bool = Field(description="true while no version was published (the default set)")


class OverviewOut(Schema):
    in_force: InForceOut
    history: list[VersionOut] = Field(description="published versions, newest first")


class DryRunIn(Schema):
    data: dict[str, Any] = Field(description="the candidate rule set")


class JobRef(Schema):
    job: int = Field(description="poll GET /api/v1/admin/rulesets/jobs/{job}")


class PublishIn(Schema):
    data: dict[str, Any]
    note: str = Field(default="", description="why (at most 500 characters)")
    dry_run_job: int | None = Field(
        default=None, description="a finished dry run of exactly this data, within the last hour"
    )


class PublishOut(Schema):
    version: VersionOut
    rederive_job: int = Field(description="the background re-derivation of every code")


class JobOut(Schema):
    id: int
    kind: str = Field(description='"rule_dry_run" or "rederive_all"')
    status: str = Field(description='"queued", "running", "done" or "failed"')
    total: int
    done: int
    percent: int
    result: dict[str, Any] = Field(
        description="a dry run: codes, changed, matrix (from → to → count), changes, "
        "by_district; a re-derivation: codes, changed, rule_set"
    )
    error: str
    created_at: datetime
    finished_at: datetime | None


ERRORS = {401: ErrorOut, 403: ErrorOut}


# --- Endpoints -----------------------------------------------------------------------------------


@router.get(
    "/rulesets",
    response={200: OverviewOut, **ERRORS},
    summary="The rule set in force and the history of published versions",
)
def overview(request: HttpRequest) -> dict[str, Any]:
    return rulesets_store.overview()


@router.post(
    "/rulesets/dry-run",
    response={202: JobRef, 400: ErrorsOut, **ERRORS},
    summary="Validate a candidate rule set and count, in the background, the codes whose "
    "colour would change (city admins)",
)
def dry_run(request: HttpRequest, payload: DryRunIn) -> Status:
    job = rulesets_store.start_dry_run(actor=request.user, data=payload.data, ip=client_ip(request))
    return Status(202, {"job": job.pk})


@router.post(
    "/rulesets",
    response={201: PublishOut, 400: ErrorsOut, **ERRORS},
    summary="Publish a new version after its dry run; every code is then re-derived in the "
    "background (city admins)",
)
def publish(request: HttpRequest, payload: PublishIn) -> Status:
    version, job = rulesets_store.publish_rule_set(
        actor=request.user,
        data=payload.data,
        note=payload.note,
        dry_run_job_id=payload.dry_run_job,
        ip=client_ip(request),
    )
    return Status(201, {"version": rulesets_store.present_version(version), "rederive_job": job.pk})


@router.get(
    "/rulesets/jobs/{int:job_id}",
    url_name="rulesets_job",
    response={200: JobOut, 404: ErrorOut, **ERRORS},
    summary="Progress and result of a rule-set dry run or re-derivation",
)
def job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return present_job(get_object_or_404(Job, pk=job_id, kind__in=rulesets_store.JOB_KINDS))


@router.get(
    "/rulesets/{int:version_id}",
    response={200: VersionDataOut, 404: ErrorOut, **ERRORS},
    summary="One published version of the rule set, with its data",
)
def version(request: HttpRequest, version_id: int) -> dict[str, Any]:
    found = get_object_or_404(RuleSetVersion.objects.select_related("published_by"), pk=version_id)
    return rulesets_store.present_version(found, with_data=True)
