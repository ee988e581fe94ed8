"""The back-office approval page (/backoffice/enterprises): pending enterprises in the
admin's scope with approve/reject, behind the back-office login; 403 for accounts that oversee
no enterprises, 404 for an enterprise outside the admin's scope."""

from __future__ import annotations

import pytest
from django.test import Client

from healthcode.backoffice.models import AdminRole
from healthcode.enterprises import services
from healthcode.enterprises.models import Enterprise
from healthcode.testing import backoffice_client, credit_code

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    """A session that passed the back-office login (password and SMS code)."""
    return backoffice_client(user)


@pytest.fixture
def pending(manager):
    return services.register_enterprise(
        actor=manager,
        data={
            "name": "南宁新星电子有限公司",
            "credit_code": credit_code(80),
            "district": "450103",
            "industry": "C",
            "address": "南宁市青秀区民族大道 1 号",
            "contact_name": "王经理",
        },
    )


@pytest.mark.parametrize("admin", ["district_admin", "industry_admin", "city_admin"])
def test_it_lists_and_approves_pending_enterprises_in_scope(request, pending, admin):
    """The district's, the department's and a city admin see it and approve it."""
    c = client_for(request.getfixturevalue(admin))
    page = c.get("/backoffice/enterprises").content.decode()
    assert pending.name in page
    assert f'id="approve-{pending.pk}"' in page and f'id="reject-{pending.pk}"' in page
    r = c.post(
        f"/backoffice/enterprises/{pending.pk}/decision", {"decision": "approve"}, follow=True
    )
    assert "已通过" in r.content.decode()
    pending.refresh_from_db()
    assert pending.status == "approved"
    assert 'id="no-pending"' in c.get("/backoffice/enterprises").content.decode()


def test_it_rejects_only_with_a_note(pending, district_admin):
    """Rejecting without a note is refused with the reason; with a note it is recorded."""
    c = client_for(district_admin)
    r = c.post(
        f"/backoffice/enterprises/{pending.pk}/decision", {"decision": "reject"}, follow=True
    )
    assert "必须填写审核意见" in r.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"
    c.post(
        f"/backoffice/enterprises/{pending.pk}/decision",
        {"decision": "reject", "note": "营业执照与名称不符"},
    )
    pending.refresh_from_db()
    assert pending.status == "rejected" and pending.decision_note == "营业执照与名称不符"


def test_it_says_when_already_decided(pending, city_admin):
    """A second decision is refused with a message, not an error page."""
    c = client_for(city_admin)
    c.post(f"/backoffice/enterprises/{pending.pk}/decision", {"decision": "approve"})
    r = c.post(
        f"/backoffice/enterprises/{pending.pk}/decision",
        {"decision": "reject", "note": "x"},
        follow=True,
    )
    assert "不能重复审核" in r.content.decode()
    assert Enterprise.objects.get(pk=pending.pk).status == "approved"


def test_it_hides_another_districts_pending_enterprise(pending, resident):
    """A district admin of 兴宁区 does not see a 青秀区 enterprise and cannot decide it (404)."""
    AdminRole.objects.create(user=resident, kind="district_admin", district_id="450102")
    c = client_for(resident)
    assert pending.name not in c.get("/backoffice/enterprises").content.decode()
    r = c.post(f"/backoffice/enterprises/{pending.pk}/decision", {"decision": "approve"})
    assert r.status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending"


@pytest.mark.parametrize(
    "persona", ["manager", "co_manager", "scanner", "employee", "other_manager", "resident"]
)
def test_it_answers_403_to_accounts_without_an_admin_role(request, pending, persona):
    """Residents, enterprise managers, scanners and employees: the back office is refused
    (403, as in the API) and nothing is decided."""
    c = client_for(request.getfixturevalue(persona))
    assert c.get("/backoffice/enterprises").status_code == 403
    r = c.post(f"/backoffice/enterprises/{pending.pk}/decision", {"decision": "approve"})
    assert r.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_it_answers_403_to_a_reviewer(pending, resident):
    """A reviewer reviews codes, not enterprises."""
    AdminRole.objects.create(user=resident, kind="reviewer", district_id="450103")
    assert client_for(resident).get("/backoffice/enterprises").status_code == 403


def test_it_sends_anonymous_visitors_to_the_backoffice_login(pending):
    """Both back-office URLs need the back-office login."""
    for r in (
        Client().get("/backoffice/enterprises"),
        Client().post(f"/backoffice/enterprises/{pending.pk}/decision", {"decision": "approve"}),
    ):
        assert r.status_code == 302 and r["Location"].startswith("/backoffice/login")
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_it_sends_a_plain_login_to_the_backoffice_login(pending, city_admin):
    """A session logged in by SMS code only (no password step) is not enough: redirect to the
    back-office login with `next`, nothing decided."""
    c = Client()
    c.force_login(city_admin)
    r = c.get("/backoffice/enterprises")
    assert r.status_code == 302
    assert r["Location"] == "/backoffice/login?next=/backoffice/enterprises"
    r = c.post(f"/backoffice/enterprises/{pending.pk}/decision", {"decision": "approve"})
    assert r.status_code == 302 and r["Location"].startswith("/backoffice/login")
    pending.refresh_from_db()
    assert pending.status == "pending"
