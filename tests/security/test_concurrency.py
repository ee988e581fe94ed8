"""Races on PostgreSQL (issue 5, item 7): two writers reach the same code at the same moment,
lined up by a barrier, each on its own database connection. Nothing may be lost, nothing
duplicated, no database error may leak, and the stored colour must be the one the facts give.

SQLite serialises whole-database writes, so these races only mean something on PostgreSQL:
the module is marked `postgres_only` and scripts/test.sh deselects it in the SQLite phase."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from django.utils import timezone

from healthcode.checkins.models import CheckIn, CheckInRevision
from healthcode.codes import keys, reviews
from healthcode.codes import services as code_services
from healthcode.codes.choices import ReviewOutcome
from healthcode.codes.models import ColorChange, HealthCode, Review
from healthcode.enterprises.attendance import record_attendance
from healthcode.enterprises.models import Attendance

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def regions(transactional_db: None) -> None:
    """The regions a data migration loads: a transactional test starts from flushed tables.
    (pytest-django runs transactional tests after the others, so the flush at the end of
    each one leaves no other test without them.)"""
    from healthcode.regions.loader import sync_regions
    from healthcode.regions.models import Region

    sync_regions(Region)


def race(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the calls at once in threads (released together by a barrier); each answers
    ("ok", result) or ("error", exception). Every thread closes its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 — reported to the test, which fails on it
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racing thread never finished"
    return results


def fresh_color(code: HealthCode, now: Any) -> str:
    """The colour the facts give at `now`, decided afresh without storing anything."""
    from healthcode.codes import rules

    code = HealthCode.objects.get(pk=code.pk)
    decided = rules.decide(code_services.facts_for(code), code_services.rule_set_in_force(), now)
    return decided.to_json()["color"]


def test_it_records_two_simultaneous_scans_of_one_person(manager, scanner, employee, acme):
    """Two scanners record attendance for the same employee at once: both attendance rows
    exist, the day has exactly one check-in (the second scan amended the first: revision 2
    with one revision row), and neither scanner saw an error."""
    code = employee.health_codes.get()
    now = timezone.now()
    payloads = [keys.issue_token(code, now=now)[0] for _ in range(2)]

    def scan(user: Any, payload: str, temperature: str) -> dict[str, Any]:
        return record_attendance(
            scanner=user,
            enterprise_id=acme.pk,
            payload=payload,
            temperature=temperature,
            symptoms=[],
            now=now,
        )

    results = race(
        lambda: scan(scanner, payloads[0], "36.5"), lambda: scan(manager, payloads[1], "36.7")
    )

    assert [status for status, _ in results] == ["ok", "ok"], results
    assert all(answer["valid"] for _, answer in results)
    assert Attendance.objects.filter(code=code).count() == 2
    assert {a.scanner_id for a in Attendance.objects.filter(code=code)} == {scanner.pk, manager.pk}
    checkin = CheckIn.objects.get(code=code, day=timezone.localdate(now))
    assert checkin.revision == 2
    assert CheckInRevision.objects.filter(checkin=checkin).count() == 1
    assert CheckInRevision.objects.get(checkin=checkin).revision == 1
    # Both attendance rows point at the one check-in; the revision keeps what the first scan
    # wrote, and the check-in now holds the higher reading (a scan never hides a fever).
    rows = list(Attendance.objects.filter(code=code).order_by("pk"))
    assert {a.checkin_id for a in rows} == {checkin.pk}
    assert CheckInRevision.objects.get(checkin=checkin).temperature == rows[0].temperature
    assert str(checkin.temperature) == "36.7"


def test_it_serialises_two_reviewers_deciding_one_code(reviewer, requester, red_code):
    """Two reviewers decide the same red code at once (one approves, one refuses): they are
    served one after the other — both reviews stored, or the approval stored and the late
    refusal turned away with a clean 404 because the code is no longer under review. The
    stored colour is the one the facts give, and deciding again changes nothing."""
    now = timezone.now()

    def decide(user: Any, outcome: str, note: str) -> dict[str, Any]:
        return reviews.review_code(
            reviewer=user, code=red_code, outcome=outcome, note=note, now=now
        )

    results = race(
        lambda: decide(reviewer, ReviewOutcome.APPROVE, ""),
        lambda: decide(requester, ReviewOutcome.REFUSE, "隔离期未满，材料不全。"),
    )

    # Whoever locks the code second decides on what the first left: after a refusal the code
    # is still red and the approval goes through; after an approval it is green, no longer
    # reviewable, and the refusal is turned away cleanly (404), never with a database error.
    decided = [answer for status, answer in results if status == "ok"]
    refused = [answer for status, answer in results if status == "error"]
    assert decided, results
    assert all(isinstance(exc, Http404) for exc in refused), results
    stored = Review.objects.filter(code=red_code)
    assert sorted(r.pk for r in stored) == sorted(answer["review"] for answer in decided)
    if refused:
        assert [r.outcome for r in stored] == [ReviewOutcome.APPROVE]
    else:
        assert {r.outcome for r in stored} == {ReviewOutcome.APPROVE, ReviewOutcome.REFUSE}
        assert {r.reviewer_id for r in stored} == {reviewer.pk, requester.pk}
    code = HealthCode.objects.get(pk=red_code.pk)
    assert code.color == fresh_color(code, now)
    changes = ColorChange.objects.filter(code=code).count()
    again = code_services.redecide(code, cause="review", now=now)
    assert again.color == code.color
    assert ColorChange.objects.filter(code=code).count() == changes


def test_it_keeps_a_checkin_that_races_a_review(reviewer, red_code):
    """The holder checks in while a reviewer approves the same code: the check-in and the
    review are both stored, and the stored colour equals a fresh decision on all the facts."""
    now = timezone.now()
    holder = red_code.account

    def check_in() -> CheckIn:
        from healthcode.checkins.services import record_checkin

        return record_checkin(
            code=red_code,
            actor=holder,
            data={"temperature": "36.6", "symptoms": [], "in_nanning": True, "new_contact": False},
            now=now,
        )

    def approve() -> dict[str, Any]:
        return reviews.review_code(
            reviewer=reviewer, code=red_code, outcome=ReviewOutcome.APPROVE, now=now
        )

    results = race(check_in, approve)

    assert [status for status, _ in results] == ["ok", "ok"], results
    assert CheckIn.objects.filter(code=red_code, day=timezone.localdate(now)).count() == 1
    assert Review.objects.filter(code=red_code).count() == 1
    code = HealthCode.objects.get(pk=red_code.pk)
    assert code.color == fresh_color(code, now)
    later = now + timedelta(seconds=1)
    assert code_services.redecide(code, cause="review", now=later).color == fresh_color(
        code, later
    )
