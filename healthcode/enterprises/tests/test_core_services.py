"""The enterprise core's services: registration, approval, co-managers, employees (linked or
invited), scan permission, invitation linking and the electronic work certificate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.codes import services as code_services
from healthcode.enterprises import services
from healthcode.enterprises.models import Employee, Enterprise, EnterpriseManager
from healthcode.enterprises.tests.conftest import NAMES
from healthcode.lib.errors import ApiError
from healthcode.testing import credit_code, declaration, id_number, make_user

pytestmark = pytest.mark.django_db


def enterprise_data(**overrides):
    data = {
        "name": "南宁新星电子有限公司",
        "credit_code": credit_code(50),
        "district": "450103",
        "industry": "C",
        "address": "南宁市青秀区民族大道 1 号",
        "contact_name": "王经理",
        "contact_phone": "13800000101",
    }
    data.update(overrides)
    return data


def errors_of(exc_info) -> dict:
    return exc_info.value.message_dict


# --- register_enterprise --------------------------------------------------------------------


def test_it_registers_a_pending_enterprise_with_its_department_and_owner(manager):
    """The registrant becomes owner; the industry section gives the supervising department."""
    e = services.register_enterprise(actor=manager, data=enterprise_data(industry="f"))
    assert e.status == "pending"
    assert e.industry == "F" and e.department == "swj"
    assert EnterpriseManager.objects.get(enterprise=e).role == "owner"
    assert AuditRecord.objects.filter(action="enterprise_register", subject_id=str(e.pk)).exists()


def test_it_defaults_the_contact_phone_to_the_account(manager):
    """An empty contact phone means the registrant's own phone."""
    e = services.register_enterprise(actor=manager, data=enterprise_data(contact_phone=""))
    assert e.contact_phone == manager.phone


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("91450100MA5K0050", "18 位"),
        ("91450100MA5K0050XI", "格式"),
        ("9145010OMA5K00504X", "格式"),
        ("", "请填写"),
    ],
)
def test_it_refuses_a_bad_credit_code_saying_why(manager, value, word):
    """Length, format and emptiness each get their own message on credit_code."""
    with pytest.raises(ValidationError) as exc:
        services.register_enterprise(actor=manager, data=enterprise_data(credit_code=value))
    assert word in " ".join(errors_of(exc)["credit_code"])
    assert not Enterprise.objects.exists()


def test_it_refuses_a_credit_code_with_a_wrong_check_character(manager):
    """A changed last character fails the GB 32100 checksum."""
    good = credit_code(50)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        services.register_enterprise(actor=manager, data=enterprise_data(credit_code=bad))
    assert "校验位" in errors_of(exc)["credit_code"][0]


def test_it_refuses_a_duplicate_enterprise(manager, acme):
    """A credit code registered before is refused on credit_code, in any letter case."""
    with pytest.raises(ValidationError) as exc:
        services.register_enterprise(
            actor=manager, data=enterprise_data(credit_code=acme.credit_code.lower())
        )
    assert "已经注册" in errors_of(exc)["credit_code"][0]


def test_it_refuses_a_district_outside_nanning_and_an_unknown_industry(manager):
    """The district must be a Nanning district or zone; the industry a section A–T."""
    with pytest.raises(ValidationError) as exc:
        services.register_enterprise(
            actor=manager,
            data=enterprise_data(district="420100", industry="Z", contact_phone="123"),
        )
    errors = errors_of(exc)
    assert set(errors) == {"district", "industry", "contact_phone"}


# --- decide_enterprise ----------------------------------------------------------------------


@pytest.fixture
def pending(manager):
    return services.register_enterprise(actor=manager, data=enterprise_data())


@pytest.mark.parametrize("admin", ["district_admin", "industry_admin", "city_admin"])
def test_it_lets_an_admin_in_scope_approve(request, pending, admin):
    """The district's admin, the supervising department's and a city admin may approve."""
    actor = request.getfixturevalue(admin)
    e = services.decide_enterprise(actor=actor, enterprise=pending, approve=True)
    assert e.status == "approved" and e.decided_by == actor and e.decided_at is not None


def test_it_hides_the_enterprise_from_admins_out_of_scope(pending, resident):
    """Another district's admin and a resident get 404; nothing changes."""
    from healthcode.backoffice.models import AdminRole

    AdminRole.objects.create(user=resident, kind="district_admin", district_id="450102")
    with pytest.raises(Http404):
        services.decide_enterprise(actor=resident, enterprise=pending, approve=True)
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_it_refuses_a_second_decision_and_a_rejection_without_note(pending, city_admin):
    """A rejection must say why; a decided enterprise cannot be decided again (400)."""
    with pytest.raises(ValidationError) as exc:
        services.decide_enterprise(actor=city_admin, enterprise=pending, approve=False)
    assert "note" in errors_of(exc)
    services.decide_enterprise(actor=city_admin, enterprise=pending, approve=False, note="材料不全")
    with pytest.raises(ApiError) as exc2:
        services.decide_enterprise(actor=city_admin, enterprise=pending, approve=True)
    assert exc2.value.status == 400 and exc2.value.code == "already_decided"


def test_it_refuses_an_admin_deciding_their_own_enterprise(city_admin):
    """An admin who registered the enterprise cannot approve it (403)."""
    own = services.register_enterprise(actor=city_admin, data=enterprise_data())
    with pytest.raises(ApiError) as exc:
        services.decide_enterprise(actor=city_admin, enterprise=own, approve=True)
    assert exc.value.status == 403 and exc.value.code == "own_enterprise"
    own.refresh_from_db()
    assert own.status == "pending"


# --- co-managers ----------------------------------------------------------------------------


def test_it_adds_and_removes_a_co_manager(manager, acme, resident):
    """The owner adds an existing account by phone and removes it again."""
    m = services.add_co_manager(actor=manager, enterprise=acme, phone=resident.phone)
    assert m.role == "co_manager"
    with pytest.raises(ValidationError) as exc:
        services.add_co_manager(actor=manager, enterprise=acme, phone=resident.phone)
    assert "已经是" in errors_of(exc)["phone"][0]
    services.remove_co_manager(actor=manager, enterprise=acme, phone=resident.phone)
    assert not EnterpriseManager.objects.filter(user=resident).exists()


def test_it_refuses_a_co_manager_without_an_account(manager, acme):
    """A phone with no account is refused on phone, saying what to do."""
    with pytest.raises(ValidationError) as exc:
        services.add_co_manager(actor=manager, enterprise=acme, phone="13900000999")
    assert "还没有" in errors_of(exc)["phone"][0]


def test_it_lets_only_the_owner_manage_co_managers(co_manager, acme, resident, other_manager):
    """A co-manager gets 403; another enterprise's manager 404."""
    with pytest.raises(ApiError) as exc:
        services.add_co_manager(actor=co_manager, enterprise=acme, phone=resident.phone)
    assert exc.value.status == 403
    with pytest.raises(ApiError):
        services.remove_co_manager(actor=co_manager, enterprise=acme, phone=co_manager.phone)
    with pytest.raises(Http404):
        services.add_co_manager(actor=other_manager, enterprise=acme, phone=resident.phone)


def test_it_cannot_remove_the_owner(manager, acme):
    """Only co-managers can be removed."""
    with pytest.raises(ValidationError):
        services.remove_co_manager(actor=manager, enterprise=acme, phone=manager.phone)


# --- check_employee and codes_by_phone ------------------------------------------------------


def test_it_finds_codes_by_phone_in_one_query(manager, employee):
    """One query for all the phones; unknown phones are simply absent."""
    phones = [NAMES["manager"][0], NAMES["employee"][0], "13900000000"]
    with CaptureQueriesContext(connection) as ctx:
        found = services.codes_by_phone(phones)
    assert len(ctx.captured_queries) == 1
    assert set(found) == {NAMES["manager"][0], NAMES["employee"][0]}
    assert found[NAMES["manager"][0]][0].name == "王经理"


def test_it_checks_an_employee_without_queries_given_the_mappings(acme, resident):
    """With both mappings the check runs no query (the bulk importer's path) and links."""
    phone, name = NAMES["resident"]
    mapping = services.codes_by_phone([phone])
    with CaptureQueriesContext(connection) as ctx:
        draft = services.check_employee(
            enterprise=acme,
            data={
                "name": f" {name} ",
                "phone": f"+86 {phone}",
                "returned_to_work": "是",
                "returned_on": "2020/02/24",
                "department_name": "生产部",
            },
            codes_by_phone=mapping,
            active_phones=set(),
        )
    assert ctx.captured_queries == []
    assert draft.name == name and draft.phone == phone and draft.status == "linked"
    assert draft.returned_on == date(2020, 2, 24) and draft.department_name == "生产部"


def test_it_keeps_an_unknown_phone_as_an_invitation(acme):
    """A phone that no code carries is fine: the draft is an invitation."""
    draft = services.check_employee(
        enterprise=acme, data={"name": "赵新人", "phone": "13900000001"}
    )
    assert draft.code is None and draft.status == "invited"


def test_it_refuses_a_name_that_does_not_match_the_phone(acme, resident):
    """Codes exist for the phone but none with that name: refused on name, saying so."""
    with pytest.raises(ValidationError) as exc:
        services.check_employee(
            enterprise=acme, data={"name": "冒名者", "phone": NAMES["resident"][0]}
        )
    assert "不一致" in errors_of(exc)["name"][0]


def test_it_matches_a_family_member_sharing_the_phone(acme, resident):
    """A phone may carry several codes (family members); the name picks the right one."""
    phone = NAMES["resident"][0]
    code_services.declare(
        account=resident, data=declaration(name="孙老人", id_number=id_number(seq=301), phone=phone)
    )
    draft = services.check_employee(enterprise=acme, data={"name": "孙老人", "phone": phone})
    assert draft.code.name == "孙老人"


def test_it_refuses_a_duplicate_active_employee(acme, employee):
    """The same phone twice among the active staff is refused on phone, with or without the
    mapping of active phones."""
    phone, name = NAMES["employee"]
    with pytest.raises(ValidationError) as exc:
        services.check_employee(enterprise=acme, data={"name": name, "phone": phone})
    assert "phone" in errors_of(exc)
    with pytest.raises(ValidationError):
        services.check_employee(
            enterprise=acme,
            data={"name": name, "phone": phone},
            codes_by_phone={},
            active_phones={phone},
        )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "phone": "13900000001"}, "name"),
        ({"name": "赵1", "phone": "13900000001"}, "name"),
        ({"name": "赵新人", "phone": "1234"}, "phone"),
        ({"name": "赵新人", "phone": ""}, "phone"),
        ({"name": "赵新人", "phone": "13900000001", "returned_to_work": True}, "returned_on"),
        (
            {
                "name": "赵新人",
                "phone": "13900000001",
                "returned_to_work": True,
                "returned_on": "24/02/2020",
            },
            "returned_on",
        ),
        (
            {"name": "赵新人", "phone": "13900000001", "returned_to_work": "maybe"},
            "returned_to_work",
        ),
        (
            {"name": "赵新人", "phone": "13900000001", "department_name": "部" * 65},
            "department_name",
        ),
    ],
)
def test_it_refuses_bad_employee_fields(acme, data, field):
    """Each rule names its field."""
    with pytest.raises(ValidationError) as exc:
        services.check_employee(enterprise=acme, data=data)
    assert field in errors_of(exc)


def test_it_refuses_a_return_date_in_the_future_and_ignores_it_without_the_flag(acme):
    """The date of return is not after today; without the flag it is not kept."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        services.check_employee(
            enterprise=acme,
            data={
                "name": "赵新人",
                "phone": "13900000001",
                "returned_to_work": True,
                "returned_on": tomorrow.isoformat(),
            },
        )
    assert "晚于今天" in errors_of(exc)["returned_on"][0]
    draft = services.check_employee(
        enterprise=acme,
        data={"name": "赵新人", "phone": "13900000001", "returned_on": "2020-02-24"},
    )
    assert draft.returned_on is None


# --- employees: writes ----------------------------------------------------------------------


def test_it_adds_a_linked_and_an_invited_employee(manager, acme, resident):
    """A matching name and phone link the code; an unknown phone is an invitation."""
    phone, name = NAMES["resident"]
    e1, s1 = services.add_employee(
        actor=manager, enterprise=acme, data={"name": name, "phone": phone}
    )
    assert s1 == "linked" and e1.code == resident.health_codes.get()
    e2, s2 = services.add_employee(
        actor=manager, enterprise=acme, data={"name": "赵新人", "phone": "13900000001"}
    )
    assert s2 == "invited" and e2.code is None
    assert AuditRecord.objects.filter(action="employee_add").count() == 2


def test_it_links_an_invitation_when_that_person_declares(manager, acme):
    """The invitation links itself when a code with the same phone and name is declared; a
    different name on the same phone does not."""
    services.add_employee(
        actor=manager, enterprise=acme, data={"name": "赵新人", "phone": "13900000001"}
    )
    services.add_employee(
        actor=manager, enterprise=acme, data={"name": "钱某某", "phone": "13900000002"}
    )
    newcomer = make_user("13900000001")
    code = code_services.declare(
        account=newcomer, data=declaration(name="赵新人", id_number=id_number(seq=401))
    )
    other = make_user("13900000002")
    code_services.declare(
        account=other, data=declaration(name="钱另人", id_number=id_number(seq=402))
    )
    assert Employee.objects.get(phone="13900000001").code == code
    assert Employee.objects.get(phone="13900000002").code is None
    assert AuditRecord.objects.filter(action="employee_link").count() == 1


def test_it_manages_employees_only_for_managers_of_approved_enterprises(
    manager, co_manager, other_manager, acme, scanner
):
    """A co-manager may; another enterprise's manager or a scanner gets 404; a pending
    enterprise 403."""
    data = {"name": "赵新人", "phone": "13900000001"}
    services.add_employee(actor=co_manager, enterprise=acme, data=data)
    for actor in (other_manager, scanner):
        with pytest.raises(Http404):
            services.add_employee(actor=actor, enterprise=acme, data=data)
    pending_one = services.register_enterprise(actor=manager, data=enterprise_data())
    with pytest.raises(ApiError) as exc:
        services.add_employee(actor=manager, enterprise=pending_one, data=data)
    assert exc.value.status == 403


def test_it_updates_and_relinks_an_employee(manager, acme, resident):
    """Fields not given keep their value; a corrected name/phone is matched again."""
    employee, _ = services.add_employee(
        actor=manager, enterprise=acme, data={"name": "孙居", "phone": "13900000001"}
    )
    phone, name = NAMES["resident"]
    employee, status = services.update_employee(
        actor=manager,
        employee=employee,
        data={"name": name, "phone": phone, "department_name": "仓库"},
    )
    assert status == "linked" and employee.code is not None and employee.department_name == "仓库"
    employee, _ = services.update_employee(actor=manager, employee=employee, data={})
    assert employee.name == name
    with pytest.raises(ValidationError) as exc:
        services.update_employee(actor=manager, employee=employee, data={"name": "别人名"})
    assert "name" in errors_of(exc)


def test_it_deactivates_and_grants_scan_permission(manager, acme, employee):
    """Scan permission is granted to active employees only; leaving revokes it."""
    row = Employee.objects.get(phone=NAMES["employee"][0])
    row = services.set_scan_permission(actor=manager, employee=row, allowed=True)
    assert row.can_scan
    row = services.deactivate_employee(actor=manager, employee=row)
    assert not row.active and not row.can_scan and row.removed_at is not None
    with pytest.raises(ApiError):
        services.set_scan_permission(actor=manager, employee=row, allowed=True)
    with pytest.raises(ApiError):
        services.deactivate_employee(actor=manager, employee=row)
    # the same phone can be added again once the earlier row is inactive
    services.add_employee(
        actor=manager, enterprise=acme, data={"name": row.name, "phone": row.phone}
    )


# --- electronic work certificate ------------------------------------------------------------


def test_it_gives_the_certificate_for_green_codes_of_active_employments(
    manager, acme, employee, globex
):
    """Active employments at approved enterprises while green; nothing otherwise."""
    code = employee.health_codes.get()
    assert [e.enterprise for e in services.certificate_employments(code)] == [acme]
    Employee.objects.create(enterprise=globex, name="刘员工", phone=employee.phone, code=code)
    globex.status = "pending"
    globex.save()
    assert len(services.certificate_employments(code)) == 1
    code.color = "yellow"
    assert services.certificate_employments(code) == []
