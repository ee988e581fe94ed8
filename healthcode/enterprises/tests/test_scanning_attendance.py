"""Scanning for an enterprise and health attendance (健康考勤) through POST /api/v1/scans:
the verdict, the check-in it records, the colour after it, and every refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.checkins.models import CheckIn
from healthcode.codes import keys
from healthcode.codes import services as code_services
from healthcode.codes.models import HealthCode, Scan
from healthcode.enterprises.attendance import record_attendance
from healthcode.enterprises.models import Attendance, Employee, Enterprise
from healthcode.enterprises.tests.conftest import NAMES
from healthcode.testing import ApiClient, credit_code, declaration, id_number, make_user

pytestmark = pytest.mark.django_db


def token_of(user) -> str:
    """A fresh QR token of the account's own code, as its code page shows it."""
    return keys.issue_token(user.health_codes.get())[0]


def record(client: ApiClient, payload: str, enterprise, temperature="36.5", symptoms=None):
    body = {"payload": payload, "enterprise": getattr(enterprise, "pk", enterprise)}
    body["temperature"] = temperature
    body["symptoms"] = symptoms or []
    return client.post("/scans", body)


def nothing_recorded() -> bool:
    return not Attendance.objects.exists() and not CheckIn.objects.exists()


@pytest.fixture
def traveller(db):
    """A resident back from Shenzhen two days ago: yellow, not an employee of acme."""
    user = make_user("13800000201")
    code_services.declare(
        account=user,
        data=declaration(
            name="郑旅客",
            id_number=id_number(seq=201),
            phone=user.phone,
            returned_from_elsewhere=True,
            return_region="440300",
            arrival_date=(timezone.localdate() - timedelta(days=2)).isoformat(),
        ),
    )
    return user


@pytest.fixture
def pending(manager):
    """An enterprise `manager` registered that no admin has approved yet."""
    return Enterprise.objects.create(
        name="待审核企业",
        credit_code=credit_code(9),
        district_id="450103",
        industry="C",
        department="gxj",
        address="南宁市某路 9 号",
        contact_name="王经理",
        contact_phone=manager.phone,
        status="pending",
        registered_by=manager,
    )


def test_it_records_attendance_of_a_green_employee(scanner, employee, acme):
    """A green employee may work; the record is an Attendance row and the person's check-in
    of the day (source enterprise_scan), audited."""
    r = record(ApiClient(scanner), token_of(employee), acme, "36.6")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["valid"] is True
    assert (body["color"], body["verdict"], body["verdict_text"]) == ("green", "may_work", "可返岗")
    assert body["employee_here"] is True
    assert body["checked_in_today"] is True
    assert body["name"] == "刘*工"
    attendance = Attendance.objects.get()
    assert body["attendance"]["id"] == attendance.pk
    assert body["attendance"]["name"] == "刘*工"
    assert body["attendance"]["temperature"] == 36.6
    assert attendance.enterprise == acme
    assert attendance.employee == Employee.objects.get(phone=NAMES["employee"][0])
    assert attendance.scanner == scanner
    assert (attendance.color, attendance.verdict) == ("green", "may_work")
    assert attendance.day == timezone.localdate()
    checkin = CheckIn.objects.get()
    assert checkin.code == employee.health_codes.get()
    assert (checkin.source, checkin.recorded_by, str(checkin.temperature)) == (
        "enterprise_scan",
        scanner,
        "36.6",
    )
    assert checkin.in_nanning is True and checkin.new_contact is False
    assert attendance.checkin == checkin
    audit = AuditRecord.objects.get(action="attendance")
    assert audit.actor == scanner
    assert audit.detail["enterprise"] == acme.pk
    assert audit.detail["verdict"] == "may_work"


def test_it_says_a_yellow_code_may_not_work_with_reasons_and_path(scanner, traveller, acme):
    """Yellow → 暂不可返岗, with the reasons and the path to green; not an employee here."""
    body = record(ApiClient(scanner), token_of(traveller), acme).json()
    assert (body["valid"], body["color"], body["verdict"]) == (True, "yellow", "may_not_work")
    assert body["verdict_text"] == "暂不可返岗"
    assert body["reasons"] and all(r["text"] for r in body["reasons"])
    assert body["path_to_green"]
    assert body["employee_here"] is False
    attendance = Attendance.objects.get()
    assert attendance.employee is None
    assert (attendance.color, attendance.verdict) == ("yellow", "may_not_work")


def test_it_records_nothing_for_a_tampered_token(scanner, employee, acme):
    """A rejected token answers valid=false and why; no attendance, no check-in."""
    payload = token_of(employee)
    i = len(payload) // 2
    forged = payload[:i] + ("A" if payload[i] != "A" else "B") + payload[i + 1 :]
    r = record(ApiClient(scanner), forged, acme)
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is False
    assert body["error"] in {"bad_signature", "malformed"}
    assert body["detail"]
    assert "attendance" not in body or body["attendance"] is None
    assert nothing_recorded()


def test_it_records_nothing_for_an_expired_token(scanner, employee, acme):
    """A token past its expiry (a screenshot) is refused and nothing is recorded."""
    old, _ = keys.issue_token(employee.health_codes.get(), now=timezone.now() - timedelta(hours=1))
    body = record(ApiClient(scanner), old, acme).json()
    assert (body["valid"], body["error"]) == (False, "expired")
    assert nothing_recorded()


@pytest.mark.parametrize("temperature", ["33.9", "43.1", "20", "45.5"])
def test_it_refuses_a_temperature_out_of_range(scanner, employee, acme, temperature):
    """34–43 °C, the check-in's own rule: 400 naming temperature, nothing written."""
    r = record(ApiClient(scanner), token_of(employee), acme, temperature)
    assert r.status_code == 400
    assert r.json()["errors"]["temperature"] == ["体温必须在 34.0 至 43.0 °C 之间。"]
    assert nothing_recorded()
    assert not Scan.objects.exists()


def test_it_refuses_missing_temperature_and_unknown_symptoms(scanner, employee, acme):
    """Recording needs a temperature; symptoms must be known codes; nothing is written."""
    client = ApiClient(scanner)
    r = client.post(
        "/scans", {"payload": token_of(employee), "enterprise": acme.pk, "symptoms": ["fever"]}
    )
    assert r.status_code == 400
    assert "temperature" in r.json()["errors"]
    r = record(client, token_of(employee), acme, "36.5", ["headache"])
    assert r.status_code == 400
    assert "symptoms" in r.json()["errors"]
    r = client.post(
        "/scans",
        {"payload": token_of(employee), "enterprise": acme.pk, "temperature": "abc"},
    )
    assert r.status_code == 400
    assert "temperature" in r.json()["errors"]
    assert nothing_recorded()


def test_it_refuses_temperature_without_an_enterprise(resident, employee):
    """Attendance belongs to an enterprise: a temperature alone is a 400 naming enterprise."""
    r = ApiClient(resident).post("/scans", {"payload": token_of(employee), "temperature": 36.5})
    assert r.status_code == 400
    assert "enterprise" in r.json()["errors"]
    assert nothing_recorded()


def test_it_turns_the_code_yellow_on_a_fever_at_the_scan(scanner, employee, acme):
    """The colour answered and stored is the one after the scan's check-in: fever → yellow,
    may not work."""
    body = record(ApiClient(scanner), token_of(employee), acme, "38.2", ["fever", "cough"]).json()
    assert (body["valid"], body["color"], body["verdict"]) == (True, "yellow", "may_not_work")
    assert body["token_color"] == "green"
    assert body["reasons"]
    assert body["attendance"]["abnormal_temperature"] is True
    assert body["attendance"]["symptoms"] == ["cough", "fever"]
    attendance = Attendance.objects.get()
    assert (attendance.color, attendance.verdict) == ("yellow", "may_not_work")
    assert employee.health_codes.get().color == "yellow"


def test_it_never_hides_what_the_person_declared_that_day(scanner, employee, acme):
    """A normal reading at the gate amends the day's check-in but keeps a self-declared new
    contact, symptoms and the higher temperature: the colour does not turn back to green."""
    code = employee.health_codes.get()
    r = ApiClient(employee).post(
        f"/codes/{code.public_id}/checkins",
        {"temperature": 37.6, "symptoms": ["cough"], "in_nanning": False, "new_contact": True},
    )
    assert r.status_code == 201
    before = HealthCode.objects.get(pk=code.pk).color
    assert before != "green"
    body = record(ApiClient(scanner), token_of(employee), acme, "36.4").json()
    assert body["color"] == before
    assert body["verdict"] == "may_not_work"
    checkin = CheckIn.objects.get()
    assert (checkin.revision, checkin.source) == (2, "enterprise_scan")
    assert (str(checkin.temperature), checkin.symptoms) == ("37.6", ["cough"])
    assert (checkin.new_contact, checkin.in_nanning) == (True, True)
    assert float(Attendance.objects.get().temperature) == 36.4


def test_it_keeps_every_scan_of_the_day(scanner, employee, acme):
    """Two scans the same day: two attendance records, one check-in in its second revision."""
    client = ApiClient(scanner)
    record(client, token_of(employee), acme, "36.5")
    record(client, token_of(employee), acme, "36.8")
    assert Attendance.objects.count() == 2
    checkin = CheckIn.objects.get()
    assert (checkin.revision, str(checkin.temperature)) == (2, "36.8")


@pytest.mark.parametrize("persona", ["manager", "co_manager", "scanner"])
def test_it_lets_the_enterprises_scanners_record(request, persona, employee, acme):
    """Managers, co-managers and employees with scan permission may record."""
    user = request.getfixturevalue(persona)
    r = record(ApiClient(user), token_of(employee), acme)
    assert r.status_code == 200
    assert r.json()["attendance"]["enterprise"] == acme.pk


@pytest.mark.parametrize(
    "persona", ["employee", "resident", "other_manager", "district_admin", "city_admin"]
)
def test_it_refuses_a_non_scanner_with_403(request, persona, employee, acme, globex):
    """An approved enterprise the account may not scan for: 403 not_a_scanner, in Chinese,
    nothing recorded (another enterprise's manager included)."""
    user = request.getfixturevalue(persona)
    r = record(ApiClient(user), token_of(employee), acme)
    assert r.status_code == 403
    body = r.json()
    assert body["error"] == "not_a_scanner"
    assert "扫码权限" in body["detail"]
    assert nothing_recorded()
    assert not Scan.objects.exists()


def test_it_refuses_a_scanner_of_one_enterprise_at_another(scanner, employee, globex):
    """acme's scanner has no permission at globex: 403."""
    r = record(ApiClient(scanner), token_of(employee), globex)
    assert r.status_code == 403
    assert nothing_recorded()


def test_it_refuses_a_scanner_whose_permission_was_revoked(scanner, employee, acme):
    """Revoking scan permission (or ending employment) ends recording at once."""
    Employee.objects.filter(phone=NAMES["scanner"][0]).update(can_scan=False)
    assert record(ApiClient(scanner), token_of(employee), acme).status_code == 403
    Employee.objects.filter(phone=NAMES["scanner"][0]).update(can_scan=True, active=False)
    assert record(ApiClient(scanner), token_of(employee), acme).status_code == 403
    assert nothing_recorded()


@pytest.mark.parametrize("enterprise", ["pending", 999999, 2**70, 0, -3])
def test_it_answers_404_for_an_unknown_or_unapproved_enterprise(
    request, manager, employee, enterprise
):
    """No such approved enterprise: 404, even for the manager of the pending one."""
    if enterprise == "pending":
        enterprise = request.getfixturevalue("pending").pk
    r = record(ApiClient(manager), token_of(employee), enterprise)
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert nothing_recorded()


def test_it_answers_401_to_anonymous_callers(employee, acme):
    """Scanning needs an account, whether verifying or recording."""
    client = ApiClient()
    assert record(client, token_of(employee), acme).status_code == 401
    assert client.post("/scans", {"payload": token_of(employee)}).status_code == 401
    assert nothing_recorded()


def test_it_checks_a_code_for_the_enterprise_without_recording(scanner, employee, traveller, acme):
    """With "enterprise" but no temperature: the verdict and whether an employee here, and
    nothing but the scan log is written."""
    client = ApiClient(scanner)
    body = client.post("/scans", {"payload": token_of(employee), "enterprise": acme.pk}).json()
    assert (body["valid"], body["verdict"], body["employee_here"]) == (True, "may_work", True)
    assert body["checked_in_today"] is False
    assert body["attendance"] is None
    body = client.post("/scans", {"payload": token_of(traveller), "enterprise": acme.pk}).json()
    assert (body["verdict"], body["employee_here"]) == ("may_not_work", False)
    assert nothing_recorded()
    assert Scan.objects.filter(result="valid").count() == 2


def test_it_refuses_the_enterprise_check_to_non_scanners(employee, other_manager, acme):
    """Whether someone works at acme is acme's business: 403 for a plain employee and for
    another enterprise's manager."""
    for user in (employee, other_manager):
        r = ApiClient(user).post("/scans", {"payload": token_of(employee), "enterprise": acme.pk})
        assert r.status_code == 403


def test_it_still_lets_anyone_logged_in_verify(resident, employee):
    """Verification alone (no enterprise) is unchanged: anyone logged in may verify."""
    body = ApiClient(resident).post("/scans", {"payload": token_of(employee)}).json()
    assert (body["valid"], body["color"], body["name"]) == (True, "green", "刘*工")
    assert body.get("verdict") is None
    assert nothing_recorded()


def test_it_matches_an_invitation_by_phone_and_name(scanner, acme):
    """An employee kept as an invitation (not yet linked) is recognised by phone + name;
    an inactive employee is not an employee here."""
    user = make_user("13800000301")
    code_services.declare(
        account=user,
        data=declaration(name="钱邀请", id_number=id_number(seq=301), phone=user.phone),
    )
    invitation = Employee.objects.create(enterprise=acme, name="钱邀请", phone=user.phone)
    body = record(ApiClient(scanner), token_of(user), acme).json()
    assert body["employee_here"] is True
    assert Attendance.objects.get().employee == invitation
    invitation.active = False
    invitation.save()
    body = record(ApiClient(scanner), token_of(user), acme).json()
    assert body["employee_here"] is False


def test_it_is_the_same_service_the_api_calls(scanner, employee, acme):
    """record_attendance is the one place: called directly it writes the same rows."""
    answer = record_attendance(
        scanner=scanner,
        enterprise_id=acme.pk,
        payload=token_of(employee),
        temperature="36.7",
        symptoms=[],
    )
    assert answer["verdict"] == "may_work"
    assert Attendance.objects.get().pk == answer["attendance"]["id"]


def test_it_documents_attendance_in_the_openapi_schema(resident):
    """The scan body's enterprise/temperature/symptoms and the attendance answer are in the
    schema, and so is the attendance listing."""
    schema = ApiClient(resident).get("/schema").json()
    scan_in = schema["components"]["schemas"]["ScanIn"]["properties"]
    assert {"payload", "enterprise", "temperature", "symptoms"} <= set(scan_in)
    assert "attendance" in schema["components"]["schemas"]["ScanOut"]["properties"]
    assert "/api/v1/enterprises/{enterprise_id}/attendance" in schema["paths"]
    responses = schema["paths"]["/api/v1/scans"]["post"]["responses"]
    assert {"200", "400", "403", "404"} <= set(responses)
