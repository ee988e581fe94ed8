"""Time-based colour changes: after an approved review, the sweep turns a code green when the
observation period ends, touching only codes that are due; running it twice changes nothing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from healthcode.checkins.services import record_checkin
from healthcode.codes import services
from healthcode.codes.choices import ChangeCause, ReviewOutcome
from healthcode.codes.models import ColorChange, HealthCode, Review
from healthcode.testing import declaration, id_number, make_user

pytestmark = pytest.mark.django_db

HEALTHY = {"temperature": "36.5", "symptoms": [], "in_nanning": True, "new_contact": False}


def _approved_hubei_code(seq: int = 1) -> HealthCode:
    """Arrived from Hubei 13 days ago, checked in today, review approved: due tomorrow."""
    user = make_user(f"1380000{seq:04d}")
    arrival = timezone.localdate() - timedelta(days=13)
    code = services.declare(
        account=user,
        data=declaration(
            id_number=id_number(seq=seq),
            returned_from_elsewhere=True,
            return_region="420100",
            arrival_date=arrival.isoformat(),
        ),
    )
    record_checkin(code=code, actor=user, data=HEALTHY)
    Review.objects.create(code=code, outcome=ReviewOutcome.APPROVE)
    with mock.patch("healthcode.codes.services.timezone.now", return_value=timezone.now()):
        services.redecide(code, cause=ChangeCause.REVIEW)
    code.refresh_from_db()
    return code


def test_it_schedules_the_change_at_the_end_of_observation():
    code = _approved_hubei_code()
    assert code.color == "red"
    assert code.next_change_at is not None
    assert code.next_change_at > timezone.now()


def test_it_turns_due_codes_green_and_is_idempotent():
    code = _approved_hubei_code()
    due = code.next_change_at
    assert services.sweep(now=due - timedelta(seconds=1)) == 0
    assert services.sweep(now=due) == 1
    code.refresh_from_db()
    assert code.color == "green"
    assert ColorChange.objects.filter(code=code, cause="sweep", color_to="green").count() == 1
    assert services.sweep(now=due + timedelta(minutes=5)) == 0
    assert ColorChange.objects.filter(code=code, cause="sweep").count() == 1


def test_it_only_touches_codes_that_are_due():
    """Green codes without a pending change are never selected."""
    due_code = _approved_hubei_code(seq=1)
    for seq in range(2, 6):
        services.declare(account=make_user(f"1370000{seq:04d}"), data=declaration(id_number=id_number(seq=seq)))
    assert HealthCode.objects.filter(next_change_at__isnull=False).count() == 1
    assert services.sweep(now=due_code.next_change_at) == 1


def test_it_shows_the_current_colour_before_the_sweep_runs():
    """A code read after its change is due shows the new colour even if no sweep ran."""
    code = _approved_hubei_code()
    later = code.next_change_at + timedelta(minutes=1)
    assert services.current(code, now=later).color == "green"


def test_it_runs_as_a_management_command():
    code = _approved_hubei_code()
    out = StringIO()
    with mock.patch(
        "healthcode.codes.services.timezone.now", return_value=code.next_change_at + timedelta(seconds=1)
    ):
        call_command("sweep_colors", stdout=out)
    assert out.getvalue().strip() == "re-derived 1 code(s) that were due"
    code.refresh_from_db()
    assert code.color == "green"
