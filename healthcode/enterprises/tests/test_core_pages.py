"""Enterprise pages of the core (/enterprises/…) and the electronic work certificate on the
resident's code page."""

from __future__ import annotations

import pytest
from django.test import Client

from healthcode.codes.models import HealthCode
from healthcode.enterprises.models import Employee, Enterprise, EnterpriseManager
from healthcode.enterprises.tests.conftest import NAMES
from healthcode.testing import credit_code

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def row_of(key: str) -> Employee:
    return Employee.objects.get(phone=NAMES[key][0])


def register_form(**overrides):
    data = {
        "name": "南宁新星电子有限公司",
        "credit_code": credit_code(70),
        "district": "450103",
        "industry": "C",
        "address": "南宁市青秀区民族大道 1 号",
        "contact_name": "王经理",
        "contact_phone": "",
    }
    data.update(overrides)
    return data


# --- my enterprises and registration --------------------------------------------------------


def test_it_sends_anonymous_visitors_to_login():
    """Every enterprise page needs a login."""
    for path in ("/enterprises/", "/enterprises/register", "/enterprises/1/"):
        r = Client().get(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login")


def test_it_lists_my_enterprises_with_their_status(manager, acme):
    """The list shows my enterprises, my role, the status and the register link."""
    page = client_for(manager).get("/enterprises/").content.decode()
    assert acme.name in page and f'id="enterprise-{acme.pk}"' in page
    assert "已通过" in page and 'id="register-enterprise"' in page


def test_it_registers_through_the_page(manager):
    """A valid form creates a pending enterprise and shows its page."""
    c = client_for(manager)
    assert 'id="register-form"' in c.get("/enterprises/register").content.decode()
    r = c.post("/enterprises/register", register_form())
    assert r.status_code == 302, r.content.decode()[:2000]
    enterprise = Enterprise.objects.get()
    assert r["Location"] == f"/enterprises/{enterprise.pk}/"
    page = c.get(r["Location"]).content.decode()
    assert "待审核" in page and 'id="pending-note"' in page
    assert 'id="add-employee"' not in page  # no employees before approval


def test_it_shows_credit_code_errors_by_the_field(manager, acme):
    """A bad or duplicate credit code is shown by its field; nothing is saved."""
    c = client_for(manager)
    r = c.post("/enterprises/register", register_form(credit_code="123"))
    assert r.status_code == 200 and "18 位" in r.content.decode()
    r = c.post("/enterprises/register", register_form(credit_code=acme.credit_code))
    assert "已经注册" in r.content.decode()
    assert Enterprise.objects.count() == 1


# --- the enterprise page --------------------------------------------------------------------


def test_it_shows_the_staff_list_with_colours_and_scan_permission(manager, acme, scanner, employee):
    """Full phones of my own staff, colour badges, and the controls with stable ids."""
    page = client_for(manager).get(f"/enterprises/{acme.pk}/").content.decode()
    s, e = row_of("scanner"), row_of("employee")
    assert NAMES["employee"][0] in page and NAMES["scanner"][1] in page
    assert f'id="color-{e.pk}"' in page and "绿码" in page
    assert f'id="revoke-scan-{s.pk}"' in page and f'id="grant-scan-{e.pk}"' in page
    assert f'id="deactivate-{e.pk}"' in page
    for element in (
        "id_name",
        "id_phone",
        "id_department_name",
        "id_returned_to_work",
        "id_returned_on",
        'id="add-employee"',
        'id="enterprise-nav"',
    ):
        assert element in page
    assert f'href="/enterprises/{acme.pk}/scan"' in page


def test_it_adds_an_invited_employee_and_says_so(manager, acme):
    """A phone matching no code: added as an invitation, and the message says so."""
    c = client_for(manager)
    r = c.post(
        f"/enterprises/{acme.pk}/employees/add",
        {"name": "赵新人", "phone": "13900000001", "department_name": "", "returned_on": ""},
        follow=True,
    )
    page = r.content.decode()
    assert "邀请" in page
    row = Employee.objects.get(phone="13900000001")
    assert f'id="invited-{row.pk}"' in page


def test_it_adds_a_linked_returned_employee(manager, acme, resident):
    """Name and phone of a code: linked, with the returned-to-work date."""
    phone, name = NAMES["resident"]
    r = client_for(manager).post(
        f"/enterprises/{acme.pk}/employees/add",
        {
            "name": name,
            "phone": phone,
            "department_name": "生产部",
            "returned_to_work": "on",
            "returned_on": "2020-02-24",
        },
        follow=True,
    )
    assert "已关联" in r.content.decode()
    row = Employee.objects.get(phone=phone)
    assert row.code is not None and row.returned_on.isoformat() == "2020-02-24"


def test_it_shows_a_name_mismatch_on_the_name_field(manager, acme, resident):
    """A name that does not match the phone's person comes back on the form."""
    r = client_for(manager).post(
        f"/enterprises/{acme.pk}/employees/add",
        {"name": "冒名者", "phone": NAMES["resident"][0]},
    )
    page = r.content.decode()
    assert r.status_code == 200 and "不一致" in page
    assert 'id="field-name"' in page and not Employee.objects.exists()


def test_it_grants_revokes_and_deactivates_from_the_page(co_manager, acme, employee):
    """The toggle and the remove button call the services."""
    c = client_for(co_manager)
    row = row_of("employee")
    c.post(f"/enterprises/{acme.pk}/employees/{row.pk}/scan-permission", {"allowed": "1"})
    row.refresh_from_db()
    assert row.can_scan
    c.post(f"/enterprises/{acme.pk}/employees/{row.pk}/scan-permission", {"allowed": "0"})
    row.refresh_from_db()
    assert not row.can_scan
    r = c.post(f"/enterprises/{acme.pk}/employees/{row.pk}/deactivate", follow=True)
    row.refresh_from_db()
    assert not row.active and "已移除" in r.content.decode()


def test_it_edits_an_employee(manager, acme, employee):
    """The edit page saves the changed fields."""
    c = client_for(manager)
    row = row_of("employee")
    path = f"/enterprises/{acme.pk}/employees/{row.pk}/edit"
    assert 'id="edit-employee-form"' in c.get(path).content.decode()
    r = c.post(
        path,
        {
            "name": row.name,
            "phone": row.phone,
            "department_name": "仓库",
            "returned_to_work": "on",
            "returned_on": "2020-03-01",
        },
    )
    assert r.status_code == 302
    row.refresh_from_db()
    assert row.department_name == "仓库" and row.returned_to_work


def test_it_manages_co_managers_from_the_owner_page(manager, acme, resident):
    """The owner adds and removes a co-manager; an unknown phone is refused on the field."""
    c = client_for(manager)
    r = c.post(f"/enterprises/{acme.pk}/managers", {"action": "add", "phone": "13900000999"})
    assert "还没有" in r.content.decode()
    c.post(f"/enterprises/{acme.pk}/managers", {"action": "add", "phone": resident.phone})
    assert EnterpriseManager.objects.filter(user=resident, role="co_manager").exists()
    c.post(f"/enterprises/{acme.pk}/managers", {"action": "remove", "phone": resident.phone})
    assert not EnterpriseManager.objects.filter(user=resident).exists()


def test_it_answers_403_to_a_co_manager_adding_a_co_manager(co_manager, acme, resident):
    """A co-manager sees the enterprise but may not manage co-managers."""
    r = client_for(co_manager).post(
        f"/enterprises/{acme.pk}/managers", {"action": "add", "phone": resident.phone}
    )
    assert r.status_code == 403 and 'id="co-manager-refusal"' in r.content.decode()
    assert not EnterpriseManager.objects.filter(user=resident).exists()


PAGE_PATHS = [
    ("GET", "/enterprises/{acme}/"),
    ("POST", "/enterprises/{acme}/employees/add"),
    ("GET", "/enterprises/{acme}/employees/{employee}/edit"),
    ("POST", "/enterprises/{acme}/employees/{employee}/deactivate"),
    ("POST", "/enterprises/{acme}/employees/{employee}/scan-permission"),
    ("POST", "/enterprises/{acme}/managers"),
]


@pytest.mark.parametrize(
    "persona", ["scanner", "employee", "other_manager", "district_admin", "resident"]
)
@pytest.mark.parametrize(("method", "template"), PAGE_PATHS)
def test_it_answers_404_on_every_enterprise_page_to_non_managers(
    request, acme, employee, persona, method, template
):
    """Scanners, plain employees, other enterprises' managers, admins and residents do not
    see an enterprise's management pages (404), and nothing changes."""
    user = request.getfixturevalue(persona)
    path = template.format(acme=acme.pk, employee=row_of("employee").pk)
    c = client_for(user)
    data = {"name": "赵新人", "phone": "13900000001", "allowed": "1", "action": "add"}
    active_before = Employee.objects.filter(active=True).count()
    r = c.get(path) if method == "GET" else c.post(path, data)
    assert r.status_code == 404
    assert Employee.objects.filter(active=True).count() == active_before
    assert not row_of("employee").can_scan
    assert EnterpriseManager.objects.filter(enterprise=acme).count() == 1


@pytest.mark.parametrize(("method", "template"), PAGE_PATHS)
def test_it_sends_anonymous_visitors_of_enterprise_pages_to_login(acme, employee, method, template):
    """Anonymous: to the login page."""
    path = template.format(acme=acme.pk, employee=row_of("employee").pk)
    r = Client().get(path) if method == "GET" else Client().post(path, {})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login")


@pytest.mark.parametrize("persona", ["manager", "co_manager"])
@pytest.mark.parametrize(("method", "template"), PAGE_PATHS)
def test_it_lets_managers_use_every_enterprise_page(
    request, acme, co_manager, employee, persona, method, template
):
    """Managers and co-managers reach every page (the owner-only co-manager form aside)."""
    user = request.getfixturevalue(persona)
    path = template.format(acme=acme.pk, employee=row_of("employee").pk)
    c = client_for(user)
    r = c.get(path) if method == "GET" else c.post(path, {"phone": "13900000001", "name": "赵新人"})
    expected = 403 if (persona == "co_manager" and path.endswith("/managers")) else (200, 302)
    assert r.status_code in (expected if isinstance(expected, tuple) else (expected,))


# --- the electronic work certificate --------------------------------------------------------


def test_it_shows_the_e_certificate_on_a_green_code(employee, acme):
    """A green code lists its active employments at approved enterprises, titled 电子证."""
    row = row_of("employee")
    row.returned_to_work = True
    row.returned_on = "2020-02-24"
    row.save()
    code = employee.health_codes.get()
    page = client_for(employee).get(f"/codes/{code.public_id}").content.decode()
    assert 'id="e-certificate"' in page and "电子证" in page
    assert acme.name in page and "2020-02-24" in page


def test_it_hides_the_e_certificate_when_yellow_or_employment_ended(employee, acme, manager):
    """Not green, or no longer employed: no certificate."""
    from healthcode.enterprises import services

    code = employee.health_codes.get()
    HealthCode.objects.filter(pk=code.pk).update(color="yellow")
    page = client_for(employee).get(f"/codes/{code.public_id}").content.decode()
    assert 'id="e-certificate"' not in page
    HealthCode.objects.filter(pk=code.pk).update(color="green")
    services.deactivate_employee(actor=manager, employee=row_of("employee"))
    page = client_for(employee).get(f"/codes/{code.public_id}").content.decode()
    assert 'id="e-certificate"' not in page and acme.name not in page
