"""The population generator (codes/population.py, `generate_population`): valid, unique and
decryptable ID numbers with their blind index, valid credit codes, every constraint kept, the
stored colours exactly what the services would store now, a colour history consistent with
them, and the back office's roster and statistics working over the result. Small populations
(300 residents, 20 enterprises, 3 days); on SQLite and on PostgreSQL (COPY, with the indexes
and constraints dropped and rebuilt: the same set must come back)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from stdnum.cn import ric, uscc

from healthcode.accounts.models import User
from healthcode.accounts.services import validate_phone
from healthcode.checkins.models import CheckIn
from healthcode.codes import population, services
from healthcode.codes.models import ColorChange, HealthCode, Review, Scan
from healthcode.enterprises import industries
from healthcode.enterprises.models import Attendance, Employee, Enterprise, EnterpriseManager
from healthcode.lib.crypto import decrypt_field
from healthcode.lib.masking import mask_id_number
from healthcode.regions import services as regions
from healthcode.testing import AdminApiClient

pytestmark = pytest.mark.django_db

SMALL = {"residents": 300, "enterprises": 20, "days": 3}


def generate(**overrides: object) -> dict:
    options = {**SMALL, "seed": 7, "now": timezone.now(), **overrides}
    return population.generate(**options)  # type: ignore[arg-type]


def test_it_generates_valid_unique_id_numbers_that_decrypt_to_their_index():
    figures = generate()
    codes = list(HealthCode.objects.all())
    assert len(codes) == 300 == figures["tables"]["codes_healthcode"]["rows"]
    numbers = set()
    for code in codes:
        number = decrypt_field(code.id_number_encrypted, context=services.ID_NUMBER_CONTEXT)
        assert ric.is_valid(number), number
        assert services.id_number_index(number) == code.id_number_index
        assert code.id_number_masked == mask_id_number(number)
        assert ric.get_birth_date(number) < timezone.localdate()
        numbers.add(number)
        assert validate_phone(code.phone) == code.phone
        assert code.account.phone == code.phone and code.relation == "self"
        assert regions.is_nanning_district(code.district_id)
        assert code.attested_at <= timezone.now()
    assert len(numbers) == 300


def test_it_generates_valid_approved_enterprises_with_owners_and_staff():
    generate()
    enterprises = list(Enterprise.objects.all())
    assert len(enterprises) == 20
    sections = industries.sections()
    for enterprise in enterprises:
        assert uscc.is_valid(enterprise.credit_code), enterprise.credit_code
        assert enterprise.status == "approved" and enterprise.decided_by_id is not None
        assert enterprise.department == sections[enterprise.industry].department
        owner = EnterpriseManager.objects.get(enterprise=enterprise, role="owner")
        assert enterprise.registered_by_id == owner.user_id
        assert enterprise.contact_phone == owner.user.phone
        # The owner is on the staff, with scan permission.
        assert Employee.objects.get(enterprise=enterprise, phone=owner.user.phone).can_scan
    assert len({e.credit_code for e in enterprises}) == 20
    employees = Employee.objects.select_related("code")
    assert 0.5 <= employees.count() / 300 <= 0.7
    for employee in employees:
        assert (employee.name, employee.phone) == (employee.code.name, employee.code.phone)


def test_it_stores_what_redecide_gives_now():
    """Re-deriving any code at the generation's `now` changes nothing: no field, no history."""
    figures = generate(residents=600, days=12)
    now = timezone.datetime.fromisoformat(figures["now"])
    assert figures["replayed_codes"] > 0 and figures["colors"]["yellow"] > 0
    changes = ColorChange.objects.count()
    fields = ("color", "reasons", "path_to_green", "next_change_at", "rule_set_id")
    for code in HealthCode.objects.all():
        before = [getattr(code, f) for f in fields]
        with transaction.atomic():
            services.redecide(code, cause="sweep", now=now)
        assert [getattr(code, f) for f in fields] == before, code.pk
    assert ColorChange.objects.count() == changes
    colors = Counter(HealthCode.objects.values_list("color", flat=True))
    assert dict(colors) == {c: n for c, n in figures["colors"].items() if n}


def test_it_keeps_the_history_the_colours_and_the_scans_consistent():
    figures = generate(residents=600, days=12)
    now = timezone.datetime.fromisoformat(figures["now"])
    history = defaultdict(list)
    for change in ColorChange.objects.order_by("at", "id"):
        history[change.code_id].append(change)
    for code in HealthCode.objects.all():
        changes = history[code.pk]
        assert changes[0].cause == "declaration" and changes[0].color_from == ""
        assert changes[0].at == code.attested_at == code.created_at
        assert changes[-1].color_to == code.color
        assert all(a.color_to == b.color_from for a, b in zip(changes, changes[1:], strict=False))
        turned = [c.at for c in changes if c.color_from != c.color_to]
        assert code.color_since == turned[-1]
        assert code.updated_at <= now
    for attendance in Attendance.objects.select_related("checkin"):
        at_the_time = [c for c in history[attendance.code_id] if c.at <= attendance.at][-1]
        assert attendance.color == at_the_time.color_to
        assert attendance.verdict == ("may_work" if attendance.color == "green" else "may_not_work")
        assert attendance.checkin.source == "enterprise_scan"
        assert attendance.checkin.recorded_by_id == attendance.scanner_id
        assert Scan.objects.filter(code_id=attendance.code_id, at=attendance.at).exists()
    assert Attendance.objects.count() == Scan.objects.count()
    for review in Review.objects.all():
        assert review.decided_at <= now
        assert review.reviewer.admin_roles.get().district_id == review.code.district_id


def test_it_keeps_every_constraint_and_writes_check_ins_in_the_window():
    figures = generate(days=5)
    today = timezone.localdate(timezone.datetime.fromisoformat(figures["now"]))
    first = today - timedelta(days=4)
    checkins = CheckIn.objects.select_related("code")
    assert checkins.count() == figures["tables"]["checkins_checkin"]["rows"]
    for checkin in checkins:
        assert first <= checkin.day <= today
        assert checkin.updated_at >= checkin.code.attested_at
        assert timezone.localdate(checkin.updated_at) == checkin.day
    per_day = Counter(checkins.values_list("day", flat=True))
    assert 0.6 < per_day[first + timedelta(days=1)] / 300 < 0.95  # ~85 % check in
    connection.check_constraints()  # SQLite: foreign keys; PostgreSQL: deferred checks


@pytest.mark.postgres_only
def test_it_rebuilds_every_index_and_constraint_it_drops_on_postgresql():
    """The load drops the secondary indexes and the unique and foreign-key constraints and
    rebuilds them: the same definitions come back, every one validated."""
    tables = [population._model(key)._meta.db_table for key in population.TABLES]

    def schema() -> set[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) || convalidated::text FROM pg_constraint"
                " WHERE conrelid = ANY(%s::regclass[]) UNION ALL SELECT indexrelid::regclass::text,"
                " pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = ANY(%s::regclass[])",
                [tables, tables],
            )
            return set(cursor.fetchall())

    before = schema()
    figures = generate()
    assert figures["indexes_deferred"] and figures["indexes_rebuilt"] > 10
    assert schema() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated")
        assert cursor.fetchone()[0] == 0


def test_it_refuses_a_database_that_holds_codes():
    generate()
    with pytest.raises(population.PopulationError, match="not empty"):
        generate(seed=8)


def test_the_command_prints_the_rows_per_table():
    out = StringIO()
    call_command(
        "generate_population", "--residents", "300", "--enterprises", "20", "--days", "3",
        "--seed", "5", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "planned 300 residents, 20 enterprises, 3 days" in text
    rows = {line.split()[0]: line.split()[1] for line in text.splitlines() if "_" in line[:28]}
    assert rows["codes_healthcode"] == "300"
    assert rows["checkins_checkin"] == f"{CheckIn.objects.count():,}"
    assert rows["enterprises_enterprise"] == "20"
    colors = Counter(HealthCode.objects.values_list("color", flat=True))
    assert f"codes: {colors['green']:,} green, {colors['yellow']:,} yellow" in text
    assert "city admin account: 19900000000" in text
    with pytest.raises(CommandError, match="not empty"):
        call_command("generate_population", "--residents", "10", "--enterprises", "1",
                     "--days", "1", stdout=StringIO())  # fmt: skip


def test_the_roster_and_statistics_work_over_generated_data():
    figures = generate()
    admin = User.objects.get(phone=figures["staff_phones"]["city_admin"])
    client = AdminApiClient(admin)
    roster = client.get("/admin/roster?page_size=20")
    assert roster.status_code == 200, roster.content
    assert roster.json()["count"] == 300 and len(roster.json()["results"]) == 20
    by_district = client.get("/admin/stats/colour-by-district").json()
    assert by_district["totals"]["total"] == 300
    by_industry = client.get("/admin/stats/colour-by-industry").json()
    assert by_industry["totals"]["total"] == Employee.objects.values("code").distinct().count()
    trend = client.get("/admin/stats/trend?days=3").json()
    last = trend["rows"][-1]
    assert sum(last[c] for c in ("green", "yellow", "red")) == 300
    checkins = client.get("/admin/stats/checkins?days=3").json()
    assert (
        checkins["rows"][-2]["checked_in"]
        == CheckIn.objects.filter(day=checkins["rows"][-2]["day"]).count()
    )
    assert client.get("/admin/stats/reports").status_code == 200
