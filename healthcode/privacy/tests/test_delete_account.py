"""Account deletion on request: the page /privacy/delete-account and POST /api/v1/me/delete,
both through the service `delete_account`."""

from __future__ import annotations

import pytest
from django.test import Client

from healthcode.accounts.models import OtpChallenge, User
from healthcode.audit.chain import verify_chain
from healthcode.audit.models import AuditRecord
from healthcode.checkins.services import record_checkin
from healthcode.codes import services as code_services
from healthcode.codes.models import HealthCode
from healthcode.enterprises.models import Employee
from healthcode.testing import ApiClient, declaration, id_number

pytestmark = pytest.mark.django_db

CHECKIN = {"temperature": "36.5", "symptoms": [], "in_nanning": True, "new_contact": False}

REFUSED = [
    "manager",
    "co_manager",
    "other_manager",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "city_admin",
    "reviewer",
]
ALLOWED = ["scanner", "employee", "resident"]


def test_it_deletes_an_account_with_its_family_codes_over_the_api(resident, acme, manager):
    """The account, its own and family members' codes, their check-ins, employee rows and
    invitations under their phones go; the deletion is audited without personal data and the
    audit chain stays intact."""
    family = code_services.declare(
        account=resident,
        data=declaration(name="孙小宝", id_number=id_number(seq=301), phone="13900000301"),
    )
    record_checkin(code=family, actor=resident, data=CHECKIN, source="self")
    Employee.objects.create(enterprise=acme, name="孙小宝", phone="13900000301", code=family)
    Employee.objects.create(enterprise=acme, name="孙居民", phone=resident.phone)
    OtpChallenge.objects.create(
        phone=resident.phone, code_hash="x", expires_at="2030-01-01T00:00:00Z"
    )
    api = ApiClient(resident)
    response = api.post("/me/delete", {"confirm": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["deleted"] is True
    assert body["removed"]["codes_healthcode"] == 2
    assert body["removed"]["accounts_user"] == 1
    assert not User.objects.filter(phone="13800000109").exists()
    assert not HealthCode.objects.filter(name__in=["孙居民", "孙小宝"]).exists()
    assert not Employee.objects.filter(phone__in=["13900000301", "13800000109"]).exists()
    assert not OtpChallenge.objects.filter(phone="13800000109").exists()
    record = AuditRecord.objects.filter(action="account_delete").get()
    assert "孙" not in str(record.detail) and "13800000109" not in str(record.detail)
    assert verify_chain().ok
    # The token went with the account.
    assert api.get("/codes").status_code == 401


def test_it_requires_confirmation(resident):
    """Without `"confirm": true` nothing is deleted: 400 naming the field."""
    response = ApiClient(resident).post("/me/delete", {})
    assert response.status_code == 400
    assert "confirm" in response.json()["errors"]
    assert User.objects.filter(pk=resident.pk).exists()


@pytest.mark.parametrize("persona", REFUSED)
def test_it_refuses_back_office_and_enterprise_accounts_over_the_api(
    request, persona, acme, globex
):
    """Accounts with a back-office role or managing an enterprise get 400 on "account" with a
    sentence saying why, and keep everything."""
    user = request.getfixturevalue(persona)
    response = ApiClient(user).post("/me/delete", {"confirm": True})
    assert response.status_code == 400
    assert response.json()["errors"]["account"][0].endswith("。")
    assert User.objects.filter(pk=user.pk).exists()
    assert HealthCode.objects.filter(account=user).exists()


@pytest.mark.parametrize("persona", ALLOWED)
def test_it_lets_residents_and_staff_without_roles_delete_over_the_api(request, persona):
    """Plain residents, employees and scanners may delete their accounts."""
    user = request.getfixturevalue(persona)
    response = ApiClient(user).post("/me/delete", {"confirm": True})
    assert response.status_code == 200
    assert not User.objects.filter(pk=user.pk).exists()


def test_it_answers_401_to_anonymous_callers(db):
    """No account, no deletion."""
    assert ApiClient().post("/me/delete", {"confirm": True}).status_code == 401


def test_it_deletes_from_the_page_after_confirmation_and_logs_out(resident):
    """GET shows the confirmation box; POST without it is 400; with it the account goes and
    the session ends."""
    client = Client()
    client.force_login(resident)
    page = client.get("/privacy/delete-account")
    assert page.status_code == 200
    assert b'id="confirm-delete"' in page.content
    missing = client.post("/privacy/delete-account", {})
    assert missing.status_code == 400
    assert b'id="error-confirm"' in missing.content
    assert User.objects.filter(pk=resident.pk).exists()
    done = client.post("/privacy/delete-account", {"confirm": "yes"})
    assert done.status_code == 200
    assert b'id="account-deleted"' in done.content
    assert not User.objects.filter(pk=resident.pk).exists()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("persona", REFUSED)
def test_it_refuses_on_the_page_with_the_reason(request, persona, acme, globex):
    """The page shows the refusal (400, #error-account) and deletes nothing."""
    user = request.getfixturevalue(persona)
    client = Client()
    client.force_login(user)
    response = client.post("/privacy/delete-account", {"confirm": "yes"})
    assert response.status_code == 400
    assert b'id="error-account"' in response.content
    assert User.objects.filter(pk=user.pk).exists()


@pytest.mark.parametrize("persona", ALLOWED)
def test_it_shows_the_page_to_accounts_that_may_delete(request, persona):
    """Residents, employees and scanners see the page."""
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/privacy/delete-account").status_code == 200


def test_it_sends_anonymous_visitors_to_the_login_page(db):
    """The page needs a login."""
    response = Client().get("/privacy/delete-account")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_refuses_while_a_dishonesty_record_protects_a_code(resident, district_admin):
    """A record the law keeps (a dishonesty record) blocks deletion: 400 on "account" and
    nothing is deleted."""
    from healthcode.credit.models import ID_NUMBER_CONTEXT, DishonestyRecord
    from healthcode.lib.crypto import encrypt_field

    code = resident.health_codes.get()
    DishonestyRecord.objects.create(
        code=code,
        person_name=code.name,
        id_number_encrypted=encrypt_field(id_number(seq=109), context=ID_NUMBER_CONTEXT),
        id_number_index=code.id_number_index,
        id_number_masked=code.id_number_masked,
        what_was_false="隐瞒行程",
        evidence="行程记录",
        flagged_by=district_admin,
    )
    response = ApiClient(resident).post("/me/delete", {"confirm": True})
    assert response.status_code == 400
    assert "失信" in response.json()["errors"]["account"][0]
    assert HealthCode.objects.filter(pk=code.pk).exists()
    assert not AuditRecord.objects.filter(action="account_delete").exists()
