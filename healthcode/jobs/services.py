"""Running jobs in the background: register a handler for a kind, `start_job` records the job
and enqueues it on Django's task framework (the database worker by default: `manage.py
db_worker`; tests run tasks immediately); the handler reports progress through `Progress`.

    @job_handler("roster_export")
    def export_roster(job: Job, progress: Progress) -> None:
        progress.set_total(n)
        ... progress.advance(1000) ...
        progress.finish(result={"rows": n}, file_name="roster-12.xlsx")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from healthcode.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

Handler = Callable[[Job, "Progress"], None]
_HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of this kind."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def jobs_dir() -> Path:
    """Where job output files live (outside the web root; served only through a view that
    checks the requester)."""
    path = Path(settings.HEALTHCODE_JOBS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Progress:
    """Progress reports of a running job, written at most every half second (so a job over a
    million rows does not write a million times)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._last = 0.0

    def set_total(self, total: int) -> None:
        self.job.total = total
        Job.objects.filter(pk=self.job.pk).update(total=total)

    def advance(self, n: int = 1) -> None:
        self.job.done += n
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            Job.objects.filter(pk=self.job.pk).update(done=self.job.done)

    def finish(self, *, result: dict[str, Any] | None = None, file_name: str = "") -> None:
        self.job.result = result or {}
        self.job.file_name = file_name
        self.job.done = max(self.job.done, self.job.total)


def start_job(*, kind: str, params: dict[str, Any], requested_by: Any) -> Job:
    """Record a job and enqueue it once the surrounding transaction commits."""
    if kind not in _HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    job = Job.objects.create(kind=kind, params=params, requested_by=requested_by)
    transaction.on_commit(lambda: run_job.enqueue(job.pk))
    return job


@task()
def run_job(job_id: int) -> None:
    """The task the worker runs: mark the job running, call its handler, record the outcome."""
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return  # already run (a task delivered twice does nothing the second time)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    progress = Progress(job)
    try:
        _HANDLERS[job.kind](job, progress)
    except Exception as exc:
        log.exception("job %s (%s) failed", job.pk, job.kind)
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        return
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE,
        done=job.done,
        total=job.total,
        result=job.result,
        file_name=job.file_name,
        finished_at=timezone.now(),
    )


def present_job(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "percent": job.percent,
        "result": job.result,
        "has_file": bool(job.file_name),
        "error": job.error if job.status == JobStatus.FAILED else "",
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }
