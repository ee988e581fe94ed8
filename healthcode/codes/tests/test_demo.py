"""The demo data command covers every colour path and prints logins."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from healthcode.codes.models import HealthCode

pytestmark = pytest.mark.django_db


def test_it_seeds_every_colour_path_and_prints_logins():
    out = StringIO()
    call_command("seed_demo", residents=14, stdout=out)
    text = out.getvalue()
    for phone in ("13900000000", "13900000003", "13900000004", "13900000005"):
        assert phone in text
    colors = {c.account.phone: c.color for c in HealthCode.objects.filter(relation="self")}
    assert colors["13900000000"] == "green"  # never left Nanning
    assert colors["13900000001"] == "green"  # from elsewhere in Guangxi
    assert colors["13900000002"] == "yellow"  # from Guangdong etc.
    assert colors["13900000003"] == "red"  # from Hubei
    assert colors["13900000004"] == "red"  # contact with a case
    assert colors["13900000005"] == "yellow"  # fever
    assert colors["13900000006"] == "green"  # reviewed, observation over
    assert HealthCode.objects.filter(relation="family").exists()


def test_it_seeds_an_enterprise_day_and_admins():
    """An approved enterprise with staff, a scanner, attendance and today's report; admins."""
    from healthcode.backoffice.models import AdminRole
    from healthcode.enterprises.models import Attendance, DailyReport, Enterprise

    out = StringIO()
    call_command("seed_demo", residents=14, stdout=out)
    enterprise = Enterprise.objects.get()
    assert enterprise.status == "approved"
    assert enterprise.employees.filter(can_scan=True).count() == 1
    assert Attendance.objects.filter(enterprise=enterprise).count() == 10
    assert DailyReport.objects.filter(enterprise=enterprise).count() == 1
    assert set(AdminRole.objects.values_list("kind", flat=True)) == {"city_admin", "district_admin"}
    for phone in ("13800009000", "13800009001"):
        assert phone in out.getvalue()


def test_it_is_idempotent():
    call_command("seed_demo", residents=7, stdout=StringIO())
    count = HealthCode.objects.count()
    call_command("seed_demo", residents=7, stdout=StringIO())
    assert HealthCode.objects.count() == count
