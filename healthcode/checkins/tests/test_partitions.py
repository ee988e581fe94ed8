"""Monthly partitions of check-ins, scans and attendance on PostgreSQL (healthcode.lib.partitions):
the tables are partitioned with a DEFAULT partition, rows land in their (Asia/Shanghai) month,
`ensure_partitions` creates the months ahead once and moves rows that waited in DEFAULT, one
check-in per code and day still holds across partitions, whole months drop for retention, and
the `ensure_partitions` command says what it did — and that it has nothing to do on SQLite."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from healthcode.checkins.models import CheckIn, CheckInRevision
from healthcode.checkins.services import record_checkin
from healthcode.codes.models import HealthCode, Scan
from healthcode.enterprises.models import Attendance
from healthcode.enterprises.tests.conftest import acme, manager  # noqa: F401
from healthcode.lib import partitions
from healthcode.testing import declaration, make_user

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEALTHY = {"temperature": "36.6", "symptoms": [], "in_nanning": True, "new_contact": False}
postgres_only = pytest.mark.postgres_only


@pytest.fixture
def code() -> HealthCode:
    from healthcode.codes import services as code_services

    return code_services.declare(account=make_user("13800000301"), data=declaration())


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def where(table: str, pk: int) -> str:
    """The partition that holds row `pk` of a partitioned table."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT tableoid::regclass::text FROM "{table}" WHERE id = %s', [pk])
        (row,) = cursor.fetchall()
    return row[0]


def checkin_on(code: HealthCode, day: date) -> CheckIn:
    return record_checkin(
        code=code, actor=code.account, data=HEALTHY, now=local(day.year, day.month, day.day, 9)
    )


def attendance_for(checkin: CheckIn, enterprise) -> Attendance:
    at = local(checkin.day.year, checkin.day.month, checkin.day.day, 8)
    return Attendance.objects.create(
        enterprise=enterprise,
        code=checkin.code,
        at=at,
        day=checkin.day,
        color="green",
        verdict="may_work",
        temperature=Decimal("36.5"),
        checkin=checkin,
    )


@postgres_only
def test_it_partitions_the_tables_that_grow_with_time():
    """Check-ins and attendance by `day`, scans by `at`, each with a DEFAULT partition and
    monthly ones around today; the database key includes the partition key."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_partitioned_table p"
            " JOIN pg_class c ON c.oid = p.partrelid ORDER BY c.relname"
        )
        keys = dict(cursor.fetchall())
        cursor.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'p' AND conrelid = ANY(%s::regclass[])",
            [list(keys)],
        )
        primary_keys = dict(cursor.fetchall())
    assert keys == {
        "checkins_checkin": "RANGE (day)",
        "codes_scan": "RANGE (at)",
        "enterprises_attendance": "RANGE (day)",
    }
    assert primary_keys == {
        "checkins_checkin": "PRIMARY KEY (id, day)",
        "codes_scan": "PRIMARY KEY (id, at)",
        "enterprises_attendance": "PRIMARY KEY (id, day)",
    }
    this_month = partitions.month_of(timezone.localdate())
    for table in keys:
        months = partitions.monthly_partitions(table)
        assert this_month in months and partitions.add_months(this_month, 3) in months
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = %s::regclass AND pg_get_expr(c.relpartbound, c.oid)"
                " = 'DEFAULT'",
                [table],
            )
            assert cursor.fetchall() == [(f"{table}_default",)]


@postgres_only
def test_it_routes_each_row_to_its_month(code, acme):  # noqa: F811
    """Today's check-in goes to this month's partition, a 2020 one to DEFAULT; a scan at
    00:30 on the 1st, Nanning time (still the previous month in UTC), to the new month."""
    today = timezone.localdate()
    checkin = checkin_on(code, today)
    old = checkin_on(code, date(2020, 2, 10))
    assert where("checkins_checkin", checkin.pk) == partitions.partition_name(
        "checkins_checkin", today.replace(day=1)
    )
    assert where("checkins_checkin", old.pk) == "checkins_checkin_default"

    first = partitions.add_months(today.replace(day=1), 1)
    scan = Scan.objects.create(
        code=code, at=local(first.year, first.month, 1, 0, 30), result="valid", color="green"
    )
    late = Scan.objects.create(
        code=code, at=local(first.year, first.month, 1) - timedelta(seconds=1), result="valid"
    )
    assert where("codes_scan", scan.pk) == partitions.partition_name("codes_scan", first)
    assert where("codes_scan", late.pk) == partitions.partition_name(
        "codes_scan", today.replace(day=1)
    )

    attendance = attendance_for(checkin, acme)
    assert where("enterprises_attendance", attendance.pk) == partitions.partition_name(
        "enterprises_attendance", today.replace(day=1)
    )
    # Django's pk is still `id`: reads, updates and relations by id work across partitions.
    assert CheckIn.objects.get(pk=old.pk).day == date(2020, 2, 10)
    assert Attendance.objects.get(pk=attendance.pk).checkin == checkin


@postgres_only
def test_ensure_partitions_creates_the_next_months_once():
    """Months from one back to N ahead, for every table; a second run creates nothing."""
    created = partitions.ensure_partitions(months_ahead=2, months_back=1, today=date(2031, 1, 20))
    assert [(c.table, c.name, c.moved) for c in created] == [
        (table, f"{table}_y{month}", 0)
        for table in ("checkins_checkin", "codes_scan", "enterprises_attendance")
        for month in ("2030m12", "2031m01", "2031m02", "2031m03")
    ]
    assert (
        partitions.ensure_partitions(months_ahead=2, months_back=1, today=date(2031, 1, 20)) == []
    )
    assert partitions.ensure_partitions(months_ahead=3, today=date(2031, 1, 20)) == [
        partitions.Created(table, f"{table}_y2031m04", date(2031, 4, 1), 0)
        for table in ("checkins_checkin", "codes_scan", "enterprises_attendance")
    ]
    # The scans' month is bounded at local midnight: 2031-02-01 00:00 +08:00.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %s",
            ["codes_scan_y2031m02"],
        )
        (bound,) = cursor.fetchone()
    assert bound == "FOR VALUES FROM ('2031-01-31 16:00:00+00') TO ('2031-02-28 16:00:00+00')"


@postgres_only
def test_it_still_allows_one_checkin_per_code_and_day(code):
    """`one_checkin_per_day` holds on the partitioned table, in a month and in DEFAULT; the
    service amends instead of adding a second row."""
    for day in (timezone.localdate(), date(2020, 2, 10)):
        first = checkin_on(code, day)
        with pytest.raises(IntegrityError), transaction.atomic():
            CheckIn.objects.create(
                code=code,
                day=day,
                temperature=Decimal("36.5"),
                in_nanning=True,
                new_contact=False,
                source="self",
            )
        amended = checkin_on(code, day)
        assert amended.pk == first.pk and amended.revision == 2
    assert CheckIn.objects.filter(code=code).count() == 2


@postgres_only
def test_it_moves_rows_waiting_in_default_into_their_new_month(code, acme):  # noqa: F811
    """Check-ins of March 2020 wait in DEFAULT; creating March 2020 moves them (and only
    them) into it, with their revisions and attendance still attached."""
    march = [checkin_on(code, date(2020, 3, d)) for d in (1, 15, 31)]
    amended = checkin_on(code, date(2020, 3, 15))
    april = checkin_on(code, date(2020, 4, 1))
    attendance = attendance_for(march[0], acme)
    assert {where("checkins_checkin", c.pk) for c in [*march, april]} == {
        "checkins_checkin_default"
    }

    created = partitions.ensure_partitions(months_ahead=0, months_back=0, today=date(2020, 3, 9))
    assert [(c.name, c.moved) for c in created] == [
        ("checkins_checkin_y2020m03", 3),
        ("codes_scan_y2020m03", 0),
        ("enterprises_attendance_y2020m03", 1),
    ]
    assert {where("checkins_checkin", c.pk) for c in march} == {"checkins_checkin_y2020m03"}
    assert where("checkins_checkin", april.pk) == "checkins_checkin_default"
    assert where("enterprises_attendance", attendance.pk) == "enterprises_attendance_y2020m03"
    assert CheckIn.objects.get(pk=amended.pk).revisions.count() == 1
    assert Attendance.objects.get(pk=attendance.pk).checkin_id == march[0].pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM checkins_checkin_default WHERE day < '2020-04-01'")
        assert cursor.fetchone()[0] == 0


@postgres_only
def test_it_drops_whole_months_for_retention(code, acme):  # noqa: F811
    """Dropping the months before April 2020 removes March's check-ins with their revisions;
    attendance that pointed at them keeps its row without the link; April stays."""
    partitions.ensure_partitions(months_ahead=1, months_back=0, today=date(2020, 3, 1))
    march = checkin_on(code, date(2020, 3, 5))
    checkin_on(code, date(2020, 3, 5))  # an amendment: one revision
    april = checkin_on(code, date(2020, 4, 5))
    attendance = attendance_for(april, acme)
    attendance.checkin = march
    attendance.save()
    assert CheckInRevision.objects.filter(checkin_id=march.pk).count() == 1

    dropped = partitions.drop_partitions_before(date(2020, 4, 1), tables=["checkins_checkin"])

    assert dropped == ["checkins_checkin_y2020m03"]
    assert not CheckIn.objects.filter(pk=march.pk).exists()
    assert CheckIn.objects.filter(pk=april.pk).exists()
    assert not CheckInRevision.objects.filter(checkin_id=march.pk).exists()
    assert Attendance.objects.get(pk=attendance.pk).checkin_id is None
    assert "checkins_checkin_y2020m03" not in partitions.monthly_partitions("checkins_checkin")
    assert partitions.drop_partitions_before(date(2020, 4, 1), tables=["checkins_checkin"]) == []


@postgres_only
def test_the_command_prints_what_it_created():
    """`ensure_partitions --months-ahead 5` creates the two months past the migration's three,
    for each table, and says so; run again it creates nothing."""
    this_month = partitions.month_of(timezone.localdate())
    expected = [
        f"created {partitions.partition_name(table, partitions.add_months(this_month, n))}"
        for table in ("checkins_checkin", "codes_scan", "enterprises_attendance")
        for n in (4, 5)
    ]
    out = StringIO()
    call_command("ensure_partitions", "--months-ahead", "5", stdout=out)
    lines = out.getvalue().splitlines()
    first = partitions.add_months(this_month, -1)
    last = partitions.add_months(this_month, 5)
    summary = (
        "partition(s) created; checkins_checkin, codes_scan, enterprises_attendance have monthly "
        f"partitions from {first:%Y-%m} to {last:%Y-%m}"
    )
    assert lines == [*expected, f"6 {summary}"]
    out = StringIO()
    call_command("ensure_partitions", "--months-ahead", "5", stdout=out)
    assert out.getvalue().splitlines() == [f"0 {summary}"]


def test_the_command_does_nothing_on_sqlite():
    """SQLite has no partitions: the command says so and leaves the database alone."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite path")
    out = StringIO()
    call_command("ensure_partitions", stdout=out)
    assert out.getvalue() == (
        "nothing to do: sqlite has no partitions (only PostgreSQL partitions check-ins, scans "
        "and attendance by month)\n"
    )
    assert partitions.ensure_partitions() == []
    assert partitions.drop_partitions_before(date(2030, 1, 1)) == []
