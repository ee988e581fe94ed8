"""The enterprise core's API (/api/v1/enterprises): register, approve, co-managers,
employees and scan permission, with bad input and the OpenAPI schema."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from healthcode.codes import services as code_services
from healthcode.enterprises.models import Employee, Enterprise
from healthcode.enterprises.tests.conftest import NAMES
from healthcode.testing import ApiClient, credit_code, declaration, id_number, make_user

pytestmark = pytest.mark.django_db


def root() -> str:
    """The path of POST/GET /enterprises under /api/v1 (with or without a trailing slash,
    depending on how the enterprise routers are mounted)."""
    return reverse("api:enterprises_root").removeprefix("/api/v1")


def send(api: ApiClient, method: str, path: str, body: object = None):
    """PATCH and DELETE, which ApiClient has no shortcut for."""
    return api.client.generic(
        method,
        f"/api/v1{path}",
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        **api.headers,
    )


def body(**overrides):
    data = {
        "name": "南宁新星电子有限公司",
        "credit_code": credit_code(60),
        "district": "450103",
        "industry": "C",
        "address": "南宁市青秀区民族大道 1 号",
        "contact_name": "王经理",
    }
    data.update(overrides)
    return data


def row_of(key: str) -> Employee:
    return Employee.objects.get(phone=NAMES[key][0])


# --- registration and approval --------------------------------------------------------------


def test_it_registers_and_lists_my_enterprise(manager):
    """201 with status pending, the department from the industry and my role; then listed."""
    api = ApiClient(manager)
    r = api.post(root(), body())
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "pending" and data["department"] == "gxj"
    assert data["my_role"] == "owner" and data["contact_phone"] == manager.phone
    listed = api.get(root()).json()
    assert [e["id"] for e in listed] == [data["id"]]


def test_it_answers_400_on_credit_code_for_an_invalid_code(manager):
    """An invalid unified social credit code is refused, naming the field and the rule."""
    r = ApiClient(manager).post(root(), body(credit_code="91450100MA5K00600"))
    assert r.status_code == 400
    assert "18 位" in r.json()["errors"]["credit_code"][0]
    assert not Enterprise.objects.exists()


def test_it_answers_400_for_a_duplicate_enterprise(manager, acme):
    """The same credit code twice: 400 on credit_code saying it is registered already."""
    r = ApiClient(manager).post(root(), body(credit_code=acme.credit_code))
    assert r.status_code == 400
    assert "已经注册" in r.json()["errors"]["credit_code"][0]


def test_it_answers_in_english_when_asked(manager):
    """Messages follow Accept-Language (the English text comes from the lead's catalogue;
    the field is named either way)."""
    r = ApiClient(manager, language="en").post(root(), body(district="110101"))
    assert r.status_code == 400 and "district" in r.json()["errors"]


def test_it_answers_400_for_missing_fields(manager):
    """Missing fields are named."""
    r = ApiClient(manager).post(root(), {"name": "某公司"})
    assert r.status_code == 400
    assert {"credit_code", "district", "industry"} <= set(r.json()["errors"])


@pytest.fixture
def pending_id(manager):
    return ApiClient(manager).post(root(), body()).json()["id"]


@pytest.mark.parametrize("admin", ["district_admin", "industry_admin", "city_admin"])
def test_it_lets_admins_in_scope_list_and_approve(request, pending_id, admin):
    """The district's admin, the supervising department's and a city admin see the pending
    enterprise and approve it (200)."""
    api = ApiClient(request.getfixturevalue(admin))
    assert [e["id"] for e in api.get("/enterprises/pending").json()] == [pending_id]
    assert api.get(f"/enterprises/{pending_id}").status_code == 200
    r = api.post(f"/enterprises/{pending_id}/decision", {"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert api.get("/enterprises/pending").json() == []


def test_it_hides_pending_enterprises_from_another_districts_admin(pending_id, resident):
    """Another district's admin: empty queue, 404 on the enterprise and its decision."""
    from healthcode.backoffice.models import AdminRole

    AdminRole.objects.create(user=resident, kind="district_admin", district_id="450102")
    api = ApiClient(resident)
    assert api.get("/enterprises/pending").json() == []
    assert api.get(f"/enterprises/{pending_id}").status_code == 404
    assert api.post(f"/enterprises/{pending_id}/decision", {"approve": True}).status_code == 404
    assert Enterprise.objects.get(pk=pending_id).status == "pending"


def test_it_answers_404_to_a_resident_deciding(pending_id, resident, manager):
    """A resident (and the registrant) cannot decide (404: the enterprise is not in their
    scope) and may not open the queue (403 not_an_admin)."""
    for user in (resident, manager):
        api = ApiClient(user)
        assert api.post(f"/enterprises/{pending_id}/decision", {"approve": True}).status_code == 404
        r = api.get("/enterprises/pending")
        assert (r.status_code, r.json()["error"]) == (403, "not_an_admin")


def test_it_refuses_a_second_decision_and_a_rejection_without_note(pending_id, city_admin):
    """400 on note without a reason; 400 already_decided the second time."""
    api = ApiClient(city_admin)
    r = api.post(f"/enterprises/{pending_id}/decision", {"approve": False})
    assert r.status_code == 400 and "note" in r.json()["errors"]
    r = api.post(f"/enterprises/{pending_id}/decision", {"approve": False, "note": "材料不全"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = api.post(f"/enterprises/{pending_id}/decision", {"approve": True})
    assert r.status_code == 400 and r.json()["error"] == "already_decided"


def test_it_refuses_employees_before_approval(pending_id, manager):
    """A pending enterprise cannot add employees yet (403, enterprise_not_approved)."""
    r = ApiClient(manager).post(
        f"/enterprises/{pending_id}/employees", {"name": "赵新人", "phone": "13900000001"}
    )
    assert r.status_code == 403 and r.json()["error"] == "enterprise_not_approved"


# --- co-managers ----------------------------------------------------------------------------


def test_it_adds_and_removes_a_co_manager(manager, acme, resident):
    """The owner adds (201) and removes (204) a co-manager; the detail lists managers."""
    api = ApiClient(manager)
    r = api.post(f"/enterprises/{acme.pk}/managers", {"phone": resident.phone})
    assert r.status_code == 201 and r.json()["role"] == "co_manager"
    managers = api.get(f"/enterprises/{acme.pk}").json()["managers"]
    assert [m["phone"] for m in managers] == [manager.phone, resident.phone]
    assert ApiClient(resident).get(f"/enterprises/{acme.pk}").json()["my_role"] == "co_manager"
    r = send(api, "DELETE", f"/enterprises/{acme.pk}/managers", {"phone": resident.phone})
    assert r.status_code == 204
    assert ApiClient(resident).get(f"/enterprises/{acme.pk}").status_code == 404


def test_it_answers_400_for_a_co_manager_without_account(manager, acme):
    """The account must exist."""
    r = ApiClient(manager).post(f"/enterprises/{acme.pk}/managers", {"phone": "13900000999"})
    assert r.status_code == 400 and "phone" in r.json()["errors"]


def test_it_answers_403_to_a_co_manager_adding_a_co_manager(co_manager, acme, resident):
    """A co-manager sees the enterprise but may not manage co-managers: 403 owner_only."""
    api = ApiClient(co_manager)
    r = api.post(f"/enterprises/{acme.pk}/managers", {"phone": resident.phone})
    assert r.status_code == 403 and r.json()["error"] == "owner_only"
    r = send(api, "DELETE", f"/enterprises/{acme.pk}/managers", {"phone": co_manager.phone})
    assert r.status_code == 403


# --- employees ------------------------------------------------------------------------------


def test_it_adds_a_linked_employee_and_shows_the_colour(manager, acme, resident):
    """Name and phone match a code: 201 linked, with the code's colour and full phone."""
    phone, name = NAMES["resident"]
    api = ApiClient(manager)
    r = api.post(
        f"/enterprises/{acme.pk}/employees",
        {
            "name": name,
            "phone": phone,
            "department_name": "生产部",
            "returned_to_work": True,
            "returned_on": "2020-02-24",
        },
    )
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["status"] == "linked" and data["color"] == "green" and data["phone"] == phone
    assert "关联" in data["detail"] and data["returned_on"] == "2020-02-24"
    listed = api.get(f"/enterprises/{acme.pk}/employees").json()
    assert [e["phone"] for e in listed] == [phone]


def test_it_keeps_a_phone_matching_no_one_as_an_invitation(manager, acme):
    """201 with status invited, and the answer says so."""
    r = ApiClient(manager).post(
        f"/enterprises/{acme.pk}/employees", {"name": "赵新人", "phone": "13900000001"}
    )
    assert r.status_code == 201
    assert r.json()["status"] == "invited" and r.json()["color"] is None
    assert "邀请" in r.json()["detail"]


def test_it_links_the_invitation_on_a_later_declaration(manager, acme):
    """The invited person declares with the same name and phone: the staff list shows the
    code's colour."""
    api = ApiClient(manager)
    api.post(f"/enterprises/{acme.pk}/employees", {"name": "赵新人", "phone": "13900000001"})
    code_services.declare(
        account=make_user("13900000001"),
        data=declaration(name="赵新人", id_number=id_number(seq=501)),
    )
    [row] = api.get(f"/enterprises/{acme.pk}/employees").json()
    assert row["status"] == "linked" and row["color"] == "green"


def test_it_answers_400_on_name_when_it_does_not_match_the_phone(manager, acme, resident):
    """A name that is not the phone's person is refused, saying so."""
    r = ApiClient(manager).post(
        f"/enterprises/{acme.pk}/employees", {"name": "冒名者", "phone": NAMES["resident"][0]}
    )
    assert r.status_code == 400
    assert "不一致" in r.json()["errors"]["name"][0]
    assert not Employee.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "赵新人", "phone": "12345"}, "phone"),
        ({"name": "赵新人", "phone": "13900000001", "returned_to_work": True}, "returned_on"),
        (
            {"name": "赵新人", "phone": "13900000001", "returned_to_work": "maybe"},
            "returned_to_work",
        ),
        ({"phone": "13900000001"}, "name"),
    ],
)
def test_it_answers_400_for_bad_employee_fields(manager, acme, payload, field):
    """Each bad field is named."""
    r = ApiClient(manager).post(f"/enterprises/{acme.pk}/employees", payload)
    assert r.status_code == 400 and field in r.json()["errors"]


def test_it_answers_400_for_a_duplicate_employee(manager, acme, employee):
    """An active employee's phone again: 400 on phone."""
    phone, name = NAMES["employee"]
    r = ApiClient(manager).post(f"/enterprises/{acme.pk}/employees", {"name": name, "phone": phone})
    assert r.status_code == 400 and "phone" in r.json()["errors"]


def test_it_updates_an_employee_partially(manager, acme, employee):
    """PATCH changes only the fields given."""
    row = row_of("employee")
    r = send(
        ApiClient(manager),
        "PATCH",
        f"/enterprises/{acme.pk}/employees/{row.pk}",
        {"department_name": "质检部"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["department_name"] == "质检部" and r.json()["status"] == "linked"
    row.refresh_from_db()
    assert row.name == NAMES["employee"][1]


def test_it_deactivates_an_employee_and_lists_them_only_on_request(manager, acme, scanner):
    """Deactivation revokes scanning; the default list shows active staff only."""
    row = row_of("scanner")
    api = ApiClient(manager)
    r = api.post(f"/enterprises/{acme.pk}/employees/{row.pk}/deactivate", {})
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["can_scan"] is False
    assert api.get(f"/enterprises/{acme.pk}/employees").json() == []
    assert len(api.get(f"/enterprises/{acme.pk}/employees?include_inactive=true").json()) == 1
    r = api.post(f"/enterprises/{acme.pk}/employees/{row.pk}/deactivate", {})
    assert r.status_code == 400 and r.json()["error"] == "employee_inactive"
    r = api.post(f"/enterprises/{acme.pk}/employees/{row.pk}/scan-permission", {"allowed": True})
    assert r.status_code == 400


def test_it_grants_and_revokes_scan_permission(co_manager, acme, employee):
    """A co-manager grants and revokes scan permission."""
    row = row_of("employee")
    api = ApiClient(co_manager)
    r = api.post(f"/enterprises/{acme.pk}/employees/{row.pk}/scan-permission", {"allowed": True})
    assert r.status_code == 200 and r.json()["can_scan"] is True
    r = api.post(f"/enterprises/{acme.pk}/employees/{row.pk}/scan-permission", {"allowed": False})
    assert r.json()["can_scan"] is False


def test_it_answers_404_for_another_enterprises_employee(manager, acme, globex, other_manager):
    """An employee id of another enterprise under my enterprise's path is not found."""
    theirs, _ = Employee.objects.get_or_create(
        enterprise=globex, name="外员工", phone="13900000077"
    )
    api = ApiClient(manager)
    r = api.post(f"/enterprises/{acme.pk}/employees/{theirs.pk}/scan-permission", {"allowed": True})
    assert r.status_code == 404
    r = ApiClient(other_manager).post(
        f"/enterprises/{acme.pk}/employees", {"name": "赵新人", "phone": "13900000001"}
    )
    assert r.status_code == 404


def test_it_masks_phones_for_admins_viewing_the_staff_list(district_admin, acme, employee):
    """An admin in scope sees the staff list with masked phones; a manager sees full ones."""
    [row] = ApiClient(district_admin).get(f"/enterprises/{acme.pk}/employees").json()
    assert row["phone"] == "138****0104"
    enterprise = ApiClient(district_admin).get(f"/enterprises/{acme.pk}").json()
    assert enterprise["my_role"] is None and "****" in enterprise["managers"][0]["phone"]


def test_it_publishes_the_endpoints_in_the_openapi_schema(manager):
    """The schema names the core endpoints with their response schemas."""
    schema = ApiClient(manager).get("/schema").json()
    paths = schema["paths"]
    assert f"/api/v1{root()}" in paths
    assert "/api/v1/enterprises/pending" in paths
    assert "/api/v1/enterprises/{enterprise_id}/employees/{employee_id}/scan-permission" in paths
    assert "EmployeeOut" in schema["components"]["schemas"]
