"""The purge and end-of-emergency commands (issue 5, "Done when"): after them no seeded
name, ID number or phone is left in any table of any installed app, and both commands print
what they removed."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from healthcode.accounts.models import ApiToken, OtpChallenge, User
from healthcode.accounts.services import issue_api_token, request_otp
from healthcode.audit.chain import verify_chain
from healthcode.backoffice.models import AdminRole
from healthcode.checkins.models import CheckIn
from healthcode.checkins.services import record_checkin
from healthcode.codes import keys
from healthcode.codes import services as code_services
from healthcode.codes.models import HealthCode, OfficialListEntry, OfficialListImport, Scan
from healthcode.enterprises.attendance import record_attendance
from healthcode.enterprises.models import Attendance, DailyReport, Employee, Enterprise
from healthcode.enterprises.services import add_employee
from healthcode.enterprises.tests.conftest import NAMES
from healthcode.jobs.models import Job
from healthcode.lib.crypto import encrypt_field
from healthcode.privacy.services import purge_personal_data
from healthcode.testing import declaration, id_number

pytestmark = pytest.mark.django_db

CHECKIN = {"temperature": "36.5", "symptoms": [], "in_nanning": True, "new_contact": False}
SEQ = {
    "manager": 101,
    "co_manager": 102,
    "scanner": 103,
    "employee": 104,
    "other_manager": 105,
    "district_admin": 106,
    "industry_admin": 107,
    "city_admin": 108,
    "resident": 109,
}
BACK_OFFICE = {"district_admin", "industry_admin", "city_admin"}
FAMILY = ("孙小宝", id_number(seq=201), "13900000201")
INVITED = ("钱未领", "13900000301")


def _seed(people: dict, acme: Enterprise, globex: Enterprise, old: bool) -> None:
    """Everything personal the platform stores, for the personas and a family member."""
    resident, scanner, manager = people["resident"], people["scanner"], people["manager"]
    family = code_services.declare(
        account=resident,
        data=declaration(name=FAMILY[0], id_number=FAMILY[1], phone=FAMILY[2]),
    )
    when = timezone.now() - timedelta(days=60) if old else timezone.now()
    for user in people.values():
        for code in user.health_codes.all():
            record_checkin(code=code, actor=user, data=CHECKIN, now=when)
            record_checkin(code=code, actor=user, data={**CHECKIN, "temperature": "36.6"}, now=when)
    record_checkin(code=family, actor=resident, data=CHECKIN, now=when)
    add_employee(actor=manager, enterprise=acme, data={"name": INVITED[0], "phone": INVITED[1]})
    add_employee(
        actor=manager, enterprise=acme, data={"name": NAMES["resident"][1], "phone": resident.phone}
    )
    for person in ("employee", "resident"):
        payload = keys.issue_token(people[person].health_codes.get(relation="self"))[0]
        record_attendance(
            scanner=scanner, enterprise_id=acme.pk, payload=payload, temperature="36.4", symptoms=[]
        )
        code_services.verify_scan(payload=payload, scanner=people["other_manager"])
    batch = OfficialListImport.objects.create(file_name="list.xlsx", sha256="a" * 64, rows=1)
    OfficialListEntry.objects.create(
        batch=batch,
        kind="close_contact",
        id_number_index=code_services.id_number_index(id_number(seq=109)),
        name_masked="孙*民",
        listed_on=timezone.localdate(),
        code=resident.health_codes.get(relation="self"),
    )
    Enterprise.objects.filter(pk=acme.pk).update(contact_name=NAMES["manager"][1])
    DailyReport.objects.create(
        enterprise=acme,
        day=timezone.localdate(),
        figures={"employees": 3},
        note=f"联系人 {NAMES['manager'][1]} {manager.phone}",
        submitted_by=manager,
    )
    for user in people.values():
        request_otp(phone=user.phone, ip="127.0.0.1")
        issue_api_token(user=user)
    jobs = Path(settings.HEALTHCODE_JOBS_DIR)
    jobs.mkdir(parents=True, exist_ok=True)
    (jobs / "roster-1.csv").write_text(f"{NAMES['resident'][1]},{resident.phone}\n")
    Job.objects.create(
        kind="roster_export",
        params={"person": NAMES["resident"][1]},
        status="done",
        file_name="roster-1.csv",
    )
    from healthcode.notifications.services import notify

    notify(
        user=resident,
        kind="other",
        title_zh="健康码变化",
        body_zh=f"{FAMILY[0]}的健康码已变为黄码。",
        title_en="Code changed",
        body_en=f"The code of {FAMILY[0]} turned yellow.",
        code=family,
        sms=False,
    )
    _seed_other_apps(resident, family, people["district_admin"])
    if old:
        past = timezone.now() - timedelta(days=400)
        Scan.objects.update(at=past)
        Attendance.objects.update(at=past)
        OtpChallenge.objects.update(created_at=past)
        ApiToken.objects.update(expires_at=past)
        Job.objects.update(created_at=past)
        apps.get_model("notifications", "Notification").objects.update(created_at=past)
        CheckIn.revisions.rel.related_model.objects.update(recorded_at=past)


def _seed_other_apps(resident: User, family: HealthCode, official: User) -> None:
    """An appeal and a dishonesty record (it protects the code it is about)."""
    from healthcode.appeals.models import Appeal
    from healthcode.credit.models import ID_NUMBER_CONTEXT, DishonestyRecord

    Appeal.objects.create(
        code=family,
        account=resident,
        subject="color",
        text=f"{FAMILY[0]} 一直在南宁，电话 {FAMILY[2]}。",
        deadline=timezone.now() + timedelta(days=3),
    )
    DishonestyRecord.objects.create(
        code=family,
        person_name=FAMILY[0],
        id_number_encrypted=encrypt_field(FAMILY[1], context=ID_NUMBER_CONTEXT),
        id_number_index=code_services.id_number_index(FAMILY[1]),
        id_number_masked="450103********0000",
        what_was_false=f"{FAMILY[0]} 隐瞒了行程",
        evidence="行程记录",
        flagged_by=official,
    )


def _needles(people: dict) -> dict[str, str]:
    """Every seeded name, plain ID number and phone that must be gone (back-office accounts
    keep their phone as their login)."""
    found = {}
    for key in people:
        phone, name = NAMES[key]
        found[name] = key
        found[id_number(seq=SEQ[key])] = key
        if key not in BACK_OFFICE:
            found[phone] = key
    found.update({FAMILY[0]: "family", FAMILY[1]: "family", FAMILY[2]: "family"})
    found.update({INVITED[0]: "invited", INVITED[1]: "invited"})
    return found


def _scan_every_table(needles: dict[str, str]) -> list[str]:
    """Each (table, column, value) of any installed model whose content holds a needle."""
    hits = []
    for model in apps.get_models(include_auto_created=True):
        columns = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*columns).iterator():
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                text = (
                    value
                    if isinstance(value, str)
                    else json.dumps(value, ensure_ascii=False, default=str)
                )
                for needle in needles:
                    if needle in text:
                        hits.append(f"{model._meta.db_table}.{column} holds {needle!r}")
    return hits


@pytest.fixture
def people(
    manager, co_manager, scanner, employee, other_manager, district_admin, industry_admin,
    city_admin, resident,
):  # fmt: skip
    return {
        "manager": manager,
        "co_manager": co_manager,
        "scanner": scanner,
        "employee": employee,
        "other_manager": other_manager,
        "district_admin": district_admin,
        "industry_admin": industry_admin,
        "city_admin": city_admin,
        "resident": resident,
    }


def test_it_leaves_no_seeded_personal_data_in_any_table(people, acme, globex):
    """Seeded data everywhere; the purge (clock past the policy) removes what is old and
    prints it; the end of the emergency removes the rest and prints and files its report.
    Then no table holds a seeded name, ID number or phone, back-office accounts remain
    (without codes), enterprises keep name and credit code, and the audit chain is intact."""
    _seed(people, acme, globex, old=True)
    needles = _needles(people)
    assert _scan_every_table(needles), "the seed must be found before the commands run"

    out = StringIO()
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(days=61)):
        call_command("purge_personal_data", stdout=out)
    printed = out.getvalue()
    for table in (
        "checkins_checkin",
        "codes_scan",
        "enterprises_attendance",
        "accounts_otpchallenge",
    ):
        assert f"from {table}" in printed
    assert "from jobs_job" in printed and "from notifications_notification" in printed
    assert CheckIn.objects.count() == 0 and Scan.objects.count() == 0
    assert not (Path(settings.HEALTHCODE_JOBS_DIR) / "roster-1.csv").exists()

    out = StringIO()
    call_command("end_of_emergency", "--confirm", "--operator", "市大数据局值班员", stdout=out)
    printed = out.getvalue()
    assert "removed 10 from codes_healthcode" in printed
    assert "from credit_dishonestyrecord" in printed and "from appeals_appeal" in printed
    report_files = list(
        Path(settings.HEALTHCODE_PRIVACY_REPORT_DIR).glob("end-of-emergency-*.json")
    )
    assert len(report_files) == 1
    report = json.loads(report_files[0].read_text())
    assert report["operator"] == "市大数据局值班员"
    assert report["removed"]["codes_healthcode"] == 10
    assert report["removed"].get("accounts_user") == 6, report

    assert _scan_every_table(needles) == []
    sms = Path(settings.HEALTHCODE_SMS_FILE)
    assert not sms.exists() or all(p not in sms.read_text() for p in needles)
    assert set(User.objects.values_list("pk", flat=True)) == {people[k].pk for k in BACK_OFFICE}
    assert AdminRole.objects.count() == 3
    assert HealthCode.objects.count() == 0 and Employee.objects.count() == 0
    assert set(Enterprise.objects.values_list("name", "credit_code")) == {
        (acme.name, acme.credit_code),
        (globex.name, globex.credit_code),
    }
    assert DailyReport.objects.get().figures == {"employees": 3}
    assert verify_chain().ok


def test_it_purges_only_what_is_older_than_the_policy(settings, resident):
    """Recent rows stay; a dry run counts and deletes nothing; a second run finds nothing;
    HEALTHCODE_RETENTION_DAYS overrides the defaults."""
    code = resident.health_codes.get()
    now = timezone.now()
    record_checkin(code=code, actor=resident, data=CHECKIN, now=now - timedelta(days=40))
    record_checkin(code=code, actor=resident, data=CHECKIN, now=now - timedelta(days=2))
    assert purge_personal_data(now=now, dry_run=True) == {"checkins_checkin": 1}
    assert CheckIn.objects.count() == 2
    assert purge_personal_data(now=now) == {"checkins_checkin": 1}
    assert list(CheckIn.objects.values_list("day", flat=True)) == [
        timezone.localdate(now - timedelta(days=2))
    ]
    assert purge_personal_data(now=now) == {}
    settings.HEALTHCODE_RETENTION_DAYS = {"checkins": 1}
    assert purge_personal_data(now=now) == {"checkins_checkin": 1}


def test_it_prints_a_dry_run_without_deleting(resident):
    """`--dry-run` says what it would remove."""
    OtpChallenge.objects.create(
        phone=resident.phone,
        code_hash="x",
        created_at=timezone.now() - timedelta(days=3),
        expires_at=timezone.now() - timedelta(days=3),
    )
    out = StringIO()
    call_command("purge_personal_data", "--dry-run", stdout=out)
    assert "would remove 1 from accounts_otpchallenge" in out.getvalue()
    assert OtpChallenge.objects.count() == 1


def test_it_refuses_the_end_of_emergency_without_confirmation(resident):
    """Irreversible: nothing happens without --confirm."""
    with pytest.raises(CommandError):
        call_command("end_of_emergency", stdout=StringIO())
    assert HealthCode.objects.count() == 1
