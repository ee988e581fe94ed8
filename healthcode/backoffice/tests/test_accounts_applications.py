"""Applications for admin accounts (管理人员账号申请及生成): a logged-in account applies; a
city admin approves any application, a district admin reviewers of its own district; approval
generates the role (grant_admin_role) and sets the chosen password; everything audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import Client

from healthcode.audit.models import AuditRecord
from healthcode.backoffice.models import AdminApplication, AdminRole
from healthcode.backoffice.tests.accounts_personas import *  # noqa: F403
from healthcode.backoffice.tests.accounts_personas import PASSWORD
from healthcode.testing import AdminApiClient, ApiClient, backoffice_client

pytestmark = pytest.mark.django_db


def body(**overrides):
    data = {
        "organisation": "青秀区卫生健康局",
        "position": "科员",
        "kind": "reviewer",
        "district": "450103",
        "department": "",
        "reason": "负责本区健康码审核",
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def apply(user, **overrides):
    return ApiClient(user).post("/admin/applications", body(**overrides))


def decide(user, application_id, approve=True, note=""):
    return AdminApiClient(user).post(
        f"/admin/applications/{application_id}/decision", {"approve": approve, "note": note}
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "city_admin", "district": "450103"}, "district"),
        ({"kind": "city_admin", "district": "", "department": "gxj"}, "department"),
        ({"kind": "reviewer", "district": ""}, "district"),
        ({"kind": "district_admin", "district": "420100"}, "district"),
        ({"kind": "district_admin", "district": "450100"}, "district"),
        ({"kind": "reviewer", "department": "gxj"}, "department"),
        ({"kind": "industry_admin", "district": "", "department": "nope"}, "department"),
        ({"kind": "industry_admin", "department": "gxj"}, "district"),
        ({"kind": "king"}, "kind"),
        ({"organisation": ""}, "organisation"),
        ({"reason": ""}, "reason"),
        ({"password": ""}, "password"),
        ({"password": "12345678901"}, "password"),
        ({"password": "short1!"}, "password"),
        ({"password": "password123"}, "password"),
    ],
)
def test_it_refuses_a_bad_application_naming_the_field(resident, overrides, field):
    """A scope the role may not have, a missing organisation or reason, a weak password: 400
    naming the field with a sentence; nothing saved."""
    response = apply(resident, **overrides)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors and errors[field][0]
    assert not AdminApplication.objects.exists()


def test_it_refuses_a_password_like_the_phone(resident):
    """The password may not resemble the account's phone."""
    response = apply(resident, password=f"{resident.phone}x")
    assert response.status_code == 400 and "password" in response.json()["errors"]


def test_it_accepts_each_kind_with_its_scope(resident, manager, employee, co_manager):
    """City (no scope), district (a district or zone), industry (a department), reviewer."""
    assert apply(resident, kind="city_admin", district="").status_code == 201
    assert apply(manager, kind="district_admin", district="450102").status_code == 201
    assert apply(employee, kind="industry_admin", district="", department="swj").status_code == 201
    response = apply(co_manager)
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "pending" and data["kind"] == "reviewer"
    assert data["scope_label"].endswith("青秀区")
    assert data["applicant"] == "138****0102"
    assert "password" not in str(data)
    assert AuditRecord.objects.filter(action="admin_application").count() == 4


def test_it_keeps_one_pending_application_per_account(resident):
    """A second application while one is pending: 400."""
    assert apply(resident).status_code == 201
    response = apply(resident, kind="district_admin")
    assert response.status_code == 400 and "__all__" in response.json()["errors"]
    assert AdminApplication.objects.count() == 1


def test_it_refuses_a_role_held_already(qingxiu_reviewer):
    """Applying for a role one holds: 400 on kind."""
    response = apply(qingxiu_reviewer)
    assert response.status_code == 400 and "kind" in response.json()["errors"]


def test_it_needs_a_login_to_apply():
    """Anonymous: 401."""
    assert ApiClient().post("/admin/applications", body()).status_code == 401
    assert ApiClient().get("/admin/applications/mine").status_code == 401


def test_a_city_admin_approves_and_the_account_is_generated(resident, city_admin):
    """Approval grants the role through grant_admin_role, sets the chosen password (the hash
    leaves the application), audits; the applicant sees the status."""
    application_id = apply(resident).json()["id"]
    assert authenticate(None, phone=resident.phone, password=PASSWORD) is None
    response = decide(city_admin, application_id)
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["decided_by"] == "138****0108"
    role = AdminRole.objects.get(user=resident)
    assert (role.kind, role.district_id, role.organisation) == (
        "reviewer",
        "450103",
        "青秀区卫生健康局",
    )
    application = AdminApplication.objects.get(pk=application_id)
    assert application.role == role and application.password_hash == ""
    assert authenticate(None, phone=resident.phone, password=PASSWORD) == resident
    assert AuditRecord.objects.filter(action="admin_role_grant", actor=city_admin).exists()
    record = AuditRecord.objects.get(action="admin_application_decision")
    assert record.detail["approve"] is True and record.actor == city_admin
    mine = ApiClient(resident).get("/admin/applications/mine").json()
    assert [(a["id"], a["status"]) for a in mine] == [(application_id, "approved")]


def test_a_rejection_needs_a_note_and_the_applicant_sees_it(resident, city_admin):
    """Rejecting without a note: 400 on note, still pending; with a note: rejected, no role,
    no password; the applicant reads the note; it may apply again."""
    application_id = apply(resident).json()["id"]
    response = decide(city_admin, application_id, approve=False)
    assert response.status_code == 400 and "note" in response.json()["errors"]
    assert AdminApplication.objects.get(pk=application_id).status == "pending"
    response = decide(city_admin, application_id, approve=False, note="请由单位出具证明")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert not AdminRole.objects.filter(user=resident).exists()
    assert authenticate(None, phone=resident.phone, password=PASSWORD) is None
    mine = ApiClient(resident).get("/admin/applications/mine").json()
    assert mine[0]["decision_note"] == "请由单位出具证明"
    assert apply(resident).status_code == 201


def test_it_refuses_a_second_decision(resident, city_admin):
    """Decided already: 400 already_decided."""
    application_id = apply(resident).json()["id"]
    decide(city_admin, application_id)
    response = decide(city_admin, application_id, approve=False, note="x")
    assert response.status_code == 400 and response.json()["error"] == "already_decided"


def test_a_district_admin_approves_a_reviewer_of_its_district(resident, district_admin):
    """青秀区's admin approves a 青秀区 reviewer: 200, the role exists."""
    application_id = apply(resident).json()["id"]
    assert decide(district_admin, application_id).status_code == 200
    assert AdminRole.objects.filter(user=resident, kind="reviewer", district_id="450103").exists()


def test_a_district_admin_cannot_see_another_districts_application(resident, other_district_admin):
    """兴宁区's admin: a 青秀区 application does not exist for it (404), not listed."""
    application_id = apply(resident).json()["id"]
    assert decide(other_district_admin, application_id).status_code == 404
    client = AdminApiClient(other_district_admin)
    assert client.get(f"/admin/applications/{application_id}").status_code == 404
    assert client.get("/admin/applications").json()["items"] == []
    assert AdminApplication.objects.get(pk=application_id).status == "pending"


def test_a_district_admin_may_not_decide_a_district_admin_application(resident, district_admin):
    """A district-admin application of its own district: visible, but 403 city_admin_only;
    the page shows it without buttons."""
    application_id = apply(resident, kind="district_admin").json()["id"]
    client = AdminApiClient(district_admin)
    assert client.get(f"/admin/applications/{application_id}").status_code == 200
    response = decide(district_admin, application_id)
    assert response.status_code == 403 and response.json()["error"] == "city_admin_only"
    page = backoffice_client(district_admin).get("/backoffice/applications").content.decode()
    assert f'id="city-only-{application_id}"' in page
    assert f'id="approve-application-{application_id}"' not in page
    r = backoffice_client(district_admin).post(
        f"/backoffice/applications/{application_id}/decision", {"decision": "approve"}
    )
    assert r.status_code == 403
    assert AdminApplication.objects.get(pk=application_id).status == "pending"


def test_a_district_admin_may_not_decide_other_kinds(resident, manager, district_admin):
    """City and industry applications have no district: 404 for a district admin."""
    city = apply(resident, kind="city_admin", district="").json()["id"]
    industry = apply(manager, kind="industry_admin", district="", department="gxj").json()["id"]
    assert decide(district_admin, city).status_code == 404
    assert decide(district_admin, industry).status_code == 404


def test_no_one_approves_their_own_application(district_admin, city_admin):
    """A city admin applying for a reviewer role cannot approve it: 403 own_application."""
    application_id = apply(city_admin).json()["id"]
    response = decide(city_admin, application_id)
    assert response.status_code == 403 and response.json()["error"] == "own_application"


@pytest.mark.parametrize("persona", ["industry_admin", "qingxiu_reviewer"])
def test_admins_who_approve_nothing_get_403(request, resident, persona):
    """An industry admin and a reviewer: 403 not_an_approver on list, detail and decision."""
    application_id = apply(resident).json()["id"]
    client = AdminApiClient(request.getfixturevalue(persona))
    for response in (
        client.get("/admin/applications"),
        client.get(f"/admin/applications/{application_id}"),
        client.post(f"/admin/applications/{application_id}/decision", {"approve": True}),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == "not_an_approver"
    assert AdminApplication.objects.get(pk=application_id).status == "pending"


@pytest.mark.parametrize("persona", ["resident", "manager"])
def test_accounts_without_a_role_cannot_approve(request, persona, co_manager):
    """A resident or an enterprise manager: 403 with a back-office token of theirs, 401 with
    a resident token (it is not a back-office token); nothing decided."""
    application_id = apply(co_manager).json()["id"]
    user = request.getfixturevalue(persona)
    response = decide(user, application_id)
    assert response.status_code == 403
    response = ApiClient(user).post(
        f"/admin/applications/{application_id}/decision", {"approve": True}
    )
    assert response.status_code == 401
    assert AdminApplication.objects.get(pk=application_id).status == "pending"


def test_the_list_filters_by_status(resident, manager, city_admin):
    """GET /admin/applications?status=…"""
    first = apply(resident).json()["id"]
    second = apply(manager).json()["id"]
    decide(city_admin, first)
    client = AdminApiClient(city_admin)
    assert [a["id"] for a in client.get("/admin/applications").json()["items"]] == [first, second]
    pending = client.get("/admin/applications?status=pending").json()
    assert [a["id"] for a in pending["items"]] == [second] and pending["total"] == 1
    assert client.get("/admin/applications?status=nope").status_code == 400


# --- Pages ----------------------------------------------------------------------------------


def _form(**overrides):
    data = body(**overrides)
    data["password2"] = data["password"]
    return data


def test_the_apply_page_submits_and_shows_the_status(resident):
    """The form, then the application's status and no second form."""
    c = Client()
    c.force_login(resident)
    page = c.get("/backoffice/apply").content.decode()
    for element in ("id_organisation", "id_kind", "id_district", "id_department", "id_password"):
        assert f'id="{element}"' in page
    r = c.post("/backoffice/apply", _form(), follow=True)
    page = r.content.decode()
    application = AdminApplication.objects.get()
    assert f'id="application-status-{application.pk}"' in page and "待审批" in page
    assert 'id="apply-pending"' in page


def test_the_apply_page_shows_errors_by_field(resident):
    """A bad scope and mismatched passwords: the messages by their fields, nothing saved."""
    c = Client()
    c.force_login(resident)
    page = c.post("/backoffice/apply", _form(kind="city_admin")).content.decode()
    assert "市级管理员的范围是全市" in page
    data = _form()
    data["password2"] = "different-password-1"
    assert "两次输入的密码不一致" in c.post("/backoffice/apply", data).content.decode()
    assert not AdminApplication.objects.exists()


def test_the_apply_page_needs_a_login():
    """Anonymous: to the resident login (applicants have no role yet)."""
    r = Client().get("/backoffice/apply")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login")


def test_the_applications_page_approves_and_rejects(resident, manager, city_admin):
    """The city admin's queue: approve one, reject one with a note (without: a message)."""
    first = apply(resident).json()["id"]
    second = apply(manager, kind="industry_admin", district="", department="gxj").json()["id"]
    c = backoffice_client(city_admin)
    page = c.get("/backoffice/applications").content.decode()
    assert f'id="approve-application-{first}"' in page
    assert f'id="reject-application-{second}"' in page
    r = c.post(f"/backoffice/applications/{first}/decision", {"decision": "approve"}, follow=True)
    assert "已批准" in r.content.decode()
    r = c.post(f"/backoffice/applications/{second}/decision", {"decision": "reject"}, follow=True)
    assert "必须填写审批意见" in r.content.decode()
    r = c.post(
        f"/backoffice/applications/{second}/decision",
        {"decision": "reject", "note": "不属于本部门"},
        follow=True,
    )
    page = r.content.decode()
    assert f'id="decided-application-{second}"' in page and "不属于本部门" in page
    assert 'id="no-pending-applications"' in page
    assert AdminRole.objects.filter(user=resident, kind="reviewer").exists()
    assert not AdminRole.objects.filter(user=manager).exists()
