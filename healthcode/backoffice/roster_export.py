"""Exports of the roster (统计导出报表, SPEC §6): the filtered roster and its statistics (codes by
colour × district) as XLSX or CSV, for the same authorities, scope and masking as the page.

The files are written by the enterprise module's writers (`healthcode.enterprises.exports`):
rows are read in chunks (`roster.roster_cells`, `.iterator(chunk_size=2000)`) and written as they
come — the XLSX by XlsxWriter in constant-memory mode into a temporary file, the CSV streamed —
so a million rows never sit in memory. The first row of every file marks it: who exported
(masked phone), when, which filters, masked or not.

Up to `direct_max_rows()` rows (50,000 by default, setting HEALTHCODE_EXPORT_DIRECT_MAX_ROWS)
an export is a direct download; above that it becomes a background job ("roster_export") that
writes the file under `jobs_dir()` with progress, downloadable by its requester only (404 for
anyone else). Every export is audited (who, when, filters, row count, format, masked); so is
every download of a job's file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit, link_codes
from healthcode.backoffice.roster import (
    RosterFilter,
    column_headers,
    filter_from_job_params,
    require_roster_access,
    roster_cells,
    roster_queryset,
    unmasked_for,
)
from healthcode.codes.choices import Color
from healthcode.enterprises.exports import (
    CSV_CONTENT_TYPE,
    FORMATS,
    XLSX_CONTENT_TYPE,
    Export,
    csv_chunks,
    write_xlsx,
)
from healthcode.jobs.models import Job, JobStatus
from healthcode.jobs.services import Progress, job_handler, jobs_dir, start_job
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_phone
from healthcode.regions import services as regions

JOB_KIND = "roster_export"
DEFAULT_DIRECT_MAX_ROWS = 50_000
ROSTER_WIDTHS = [12, 10, 36, 14, 12, 30, 12, 30, 12]
STATS_WIDTHS = [30, 10, 10, 10, 10]
# Progress is reported every this many rows (Progress itself writes at most twice a second).
PROGRESS_STEP = 1000


def direct_max_rows() -> int:
    """Exports up to this many rows are sent at once; larger ones become a background job."""
    return int(getattr(settings, "HEALTHCODE_EXPORT_DIRECT_MAX_ROWS", DEFAULT_DIRECT_MAX_ROWS))


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError({"format": [_("导出格式须为 xlsx 或 csv。")]})
    return fmt


def _marker(what: str, actor: Any, now: datetime, filters: RosterFilter, masked: bool) -> str:
    """The mark at the top of every file: what, exported by whom (masked phone), when, with
    which filters, masked or not."""
    return _("%(what)s；导出人：%(who)s；导出时间：%(at)s；筛选条件：%(filters)s；%(masked)s") % {
        "what": what,
        "who": mask_phone(getattr(actor, "phone", "") or ""),
        "at": f"{timezone.localtime(now):%Y-%m-%d %H:%M:%S}",
        "filters": filters.describe(),
        "masked": _("姓名和电话已脱敏") if masked else _("未脱敏，请严格保密"),
    }


def _filename(kind: str, now: datetime, fmt: str, job_id: int | None = None) -> str:
    stamp = f"{timezone.localtime(now):%Y%m%d-%H%M%S}"
    return f"{kind}-{job_id}-{stamp}.{fmt}" if job_id else f"{kind}-{stamp}.{fmt}"


# --- The exports --------------------------------------------------------------------------------


def export_roster(
    *,
    actor: Any,
    filters: RosterFilter,
    fmt: str,
    unmask: bool = False,
    ip: str | None = None,
    job_id: int | None = None,
) -> tuple[Export, int]:
    """The filtered roster of the actor's scope as an XLSX or CSV export, ready to be written
    (and the number of rows). Masked unless the actor may unmask and asked to. Audited."""
    require_roster_access(actor)
    fmt = _check_format(fmt)
    masked = not unmasked_for(actor, unmask)
    queryset = roster_queryset(actor, filters)
    count = queryset.count()
    now = timezone.now()
    record = audit(
        action=AuditAction.EXPORT,
        actor=actor,
        ip=ip,
        detail={
            "what": "roster",
            "format": fmt,
            "filters": filters.audit_params(),
            "rows": count,
            "masked": masked,
            "job": job_id,
        },
    )
    if not masked:
        # Which people an unmasked file holds, so each can see it under "who viewed my data".
        link_codes(record, queryset.values_list("pk", flat=True).iterator(chunk_size=5000))
    export = Export(
        kind="roster",
        format=fmt,
        filename=_filename("roster", now, fmt, job_id),
        marker=_marker(_("花名册"), actor, now, filters, masked),
        header=column_headers(),
        rows=roster_cells(queryset, masked=masked),
        widths=ROSTER_WIDTHS,
        sheet=_("花名册"),
    )
    return export, count


def roster_stats(actor: Any, filters: RosterFilter) -> list[dict[str, Any]]:
    """Codes by district × colour for the filters, in the actor's scope: one dict per district
    that has codes (by code), with `green`, `yellow`, `red` and `total`."""
    require_roster_access(actor)
    counts = (
        roster_queryset(actor, filters, ordered=False)
        .values_list("district_id", "color")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    by_district: dict[str, dict[str, Any]] = {}
    for district, color, n in counts:
        row = by_district.setdefault(
            district, {"district": district, **{c: 0 for c in Color.values}, "total": 0}
        )
        row[color] = row.get(color, 0) + n
        row["total"] += n
    return [by_district[code] for code in sorted(by_district)]


def export_roster_stats(
    *, actor: Any, filters: RosterFilter, fmt: str, ip: str | None = None
) -> Export:
    """Statistics of the filtered roster (codes by colour × district, with totals) as XLSX or
    CSV. Counts only, no personal data; audited like any export."""
    fmt = _check_format(fmt)
    rows = roster_stats(actor, filters)
    now = timezone.now()
    audit(
        action=AuditAction.EXPORT,
        actor=actor,
        ip=ip,
        detail={
            "what": "roster_stats",
            "format": fmt,
            "filters": filters.audit_params(),
            "rows": len(rows),
        },
    )
    totals = {c: sum(r[c] for r in rows) for c in [*Color.values, "total"]}
    cells = [
        [regions.describe(r["district"]), r["green"], r["yellow"], r["red"], r["total"]]
        for r in rows
    ]
    cells.append([_("合计"), totals["green"], totals["yellow"], totals["red"], totals["total"]])
    return Export(
        kind="roster_stats",
        format=fmt,
        filename=_filename("roster-stats", now, fmt),
        marker=_marker(_("花名册统计（健康码状态 × 城区）"), actor, now, filters, True),
        header=[_("城区"), *[str(label) for label in Color.labels], _("合计")],
        rows=iter(cells),
        widths=STATS_WIDTHS,
        sheet=_("统计"),
    )


def request_roster_export(
    *,
    actor: Any,
    filters: RosterFilter,
    fmt: str,
    unmask: bool = False,
    ip: str | None = None,
) -> Export | Job:
    """An export as the caller asked for it: the export itself when it is small enough to be
    sent at once, else a background job started for it (the caller answers 202 / shows the
    progress)."""
    require_roster_access(actor)
    fmt = _check_format(fmt)
    if roster_queryset(actor, filters, ordered=False).count() > direct_max_rows():
        return start_roster_export_job(actor=actor, filters=filters, fmt=fmt, unmask=unmask, ip=ip)
    export, _count = export_roster(actor=actor, filters=filters, fmt=fmt, unmask=unmask, ip=ip)
    return export


@transaction.atomic
def start_roster_export_job(
    *,
    actor: Any,
    filters: RosterFilter,
    fmt: str,
    unmask: bool = False,
    ip: str | None = None,
) -> Job:
    """Start a background export of the roster. The job stores the filters (an ID-number
    query only as its blind index) and runs in the worker once this transaction commits; the
    export is audited when the file is written."""
    require_roster_access(actor)
    fmt = _check_format(fmt)
    return start_job(
        kind=JOB_KIND,
        params={
            "filters": filters.job_params(),
            "format": fmt,
            "unmask": bool(unmask),
            "ip": ip,
        },
        requested_by=actor,
    )


def _advancing(rows: Iterator[list[Any]], progress: Progress) -> Iterator[list[Any]]:
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if pending == PROGRESS_STEP:
            progress.advance(pending)
            pending = 0
    if pending:
        progress.advance(pending)


def write_export(export: Export, path: Path) -> None:
    """Write an export to a file, under a temporary name first so that a half-written file is
    never served."""
    partial = path.with_name(path.name + ".part")
    try:
        with open(partial, "wb") as out:
            if export.format == "xlsx":
                write_xlsx(export, out)
            else:
                for chunk in csv_chunks(export):
                    out.write(chunk)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@job_handler(JOB_KIND)
def run_roster_export(job: Job, progress: Progress) -> None:
    """The background export: the same `export_roster` as a direct download, written under
    jobs_dir() with progress. The requester's scope and unmasking right are those in force
    when the job runs."""
    params = job.params
    filters = filter_from_job_params(params.get("filters") or {})
    export, count = export_roster(
        actor=job.requested_by,
        filters=filters,
        fmt=params.get("format", ""),
        unmask=bool(params.get("unmask")),
        ip=params.get("ip"),
        job_id=job.pk,
    )
    progress.set_total(count)
    export.rows = _advancing(export.rows, progress)
    write_export(export, jobs_dir() / export.filename)
    progress.finish(
        result={"rows": progress.job.done, "format": export.format},
        file_name=export.filename,
    )


# --- Jobs of the requester ----------------------------------------------------------------------


def job_of_requester(user: Any, job_id: object) -> Job:
    """One of the jobs this account started, or 404: another account's job does not exist
    for it (whatever its role)."""
    try:
        pk = int(str(job_id))
    except ValueError:
        raise Http404("no such job") from None
    if not getattr(user, "is_authenticated", False):
        raise Http404("no such job")
    job = Job.objects.filter(pk=pk, requested_by=user).first()
    if job is None:
        raise Http404("no such job")
    return job


def job_download(*, user: Any, job_id: object, ip: str | None = None) -> FileResponse:
    """The file of a finished job, for its requester only (404 for anyone else, 409 while it
    is not ready). Every download is audited."""
    job = job_of_requester(user, job_id)
    if job.status != JobStatus.DONE or not job.file_name:
        raise ApiError(409, "not_ready", _("导出文件尚未生成，请稍后再试。"))
    path = jobs_dir() / Path(job.file_name).name
    if not path.is_file():
        raise Http404("the file is gone")
    audit(
        action=AuditAction.EXPORT_DOWNLOAD,
        actor=user,
        subject=job,
        ip=ip,
        detail={"what": job.kind, "file": path.name, "rows": job.result.get("rows")},
    )
    content_type = XLSX_CONTENT_TYPE if path.suffix == ".xlsx" else CSV_CONTENT_TYPE
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=path.name, content_type=content_type
    )
