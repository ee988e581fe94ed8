"""Background jobs: enqueued after commit, run by the task framework, progress and outcome
recorded; a failing handler marks the job failed; a job is never run twice."""

from __future__ import annotations

import pytest

from healthcode.jobs.models import Job
from healthcode.jobs.services import job_handler, present_job, run_job, start_job

pytestmark = pytest.mark.django_db


@job_handler("test_count")
def _count(job, progress):
    progress.set_total(job.params["n"])
    for _ in range(job.params["n"]):
        progress.advance()
    progress.finish(result={"counted": job.params["n"]})


@job_handler("test_fail")
def _fail(job, progress):
    raise RuntimeError("boom")


def test_it_runs_a_job_after_commit_and_records_progress(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(kind="test_count", params={"n": 5}, requested_by=None)
        assert Job.objects.get(pk=job.pk).status == "queued"
    job.refresh_from_db()
    assert (job.status, job.total, job.done, job.result) == ("done", 5, 5, {"counted": 5})
    assert present_job(job)["percent"] == 100
    assert job.started_at and job.finished_at


def test_it_marks_a_failing_job_failed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(kind="test_fail", params={}, requested_by=None)
    job.refresh_from_db()
    assert job.status == "failed" and "boom" in job.error


def test_it_never_runs_a_job_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(kind="test_count", params={"n": 2}, requested_by=None)
    run_job.call(job.pk)
    job.refresh_from_db()
    assert job.done == 2


def test_it_refuses_unknown_kinds():
    with pytest.raises(ValueError):
        start_job(kind="nope", params={}, requested_by=None)
