"""The audit log viewer (item 9): /backoffice/audit and GET /api/v1/admin/audit — city admins
only; filters actor, action, subject, time; 50 a page, newest first; bad filters 400 naming
the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.audit.services import audit
from healthcode.backoffice.tests.accounts_personas import *  # noqa: F403
from healthcode.testing import AdminApiClient, backoffice_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(acme, manager, resident, city_admin):
    """Besides the personas' own records (their declarations): a scan by the resident three
    days ago and an enterprise decision by the city admin now."""
    old = AuditRecord.objects.create(
        action="scan",
        actor=resident,
        subject_type="codes.healthcode",
        subject_id="42",
        detail={"result": "green"},
        at=timezone.now() - timedelta(days=3),
        ip="10.0.0.9",
    )
    grant = audit(
        action="enterprise_decision", actor=city_admin, subject=acme, detail={"approve": True}
    )
    return old, grant


def _get(user, query: str = ""):
    return AdminApiClient(user).get(f"/admin/audit{query}")


def test_it_lists_the_newest_first_with_masked_actors(records, city_admin):
    """Newest first; actor masked, action label, subject, detail, ip."""
    old, grant = records
    body = _get(city_admin).json()
    assert body["page"] == 1 and body["page_size"] == 50
    ats = [item["at"] for item in body["items"]]
    assert ats == sorted(ats, reverse=True)
    first = body["items"][0]
    assert first["id"] == grant.pk
    assert first["actor"] == "138****0108"
    assert first["action_label"] == "企业审核"
    assert (first["subject_type"], first["subject_id"]) == (
        "enterprises.enterprise",
        str(grant.subject_id),
    )
    assert first["detail"] == {"approve": True}
    last = next(item for item in body["items"] if item["id"] == old.pk)
    assert last["ip"] == "10.0.0.9"


def test_it_filters_by_actor_action_subject_and_time(records, city_admin, resident):
    """Each filter narrows to the matching records."""
    old, grant = records
    ids = lambda q: [item["id"] for item in _get(city_admin, q).json()["items"]]  # noqa: E731
    assert old.pk in ids(f"?actor={resident.phone}")
    assert grant.pk not in ids(f"?actor={resident.phone}")
    assert ids("?action=enterprise_decision") == [grant.pk]
    assert ids("?subject_type=codes.healthcode&subject_id=42") == [old.pk]
    day_before = (timezone.localdate() - timedelta(days=3)).isoformat()
    assert ids(f"?since={day_before}&until={day_before}") == [old.pk]
    assert old.pk not in ids(f"?since={timezone.localdate().isoformat()}")


def test_it_pages_by_fifty(city_admin):
    """120 export records: pages of 50, 50, then the rest; has_next says when there is more."""
    for i in range(120):
        audit(action="export", actor=city_admin, detail={"n": i})
    first = _get(city_admin, "?action=export").json()
    assert len(first["items"]) == 50 and first["has_next"] is True
    assert first["items"][0]["detail"] == {"n": 119}
    third = _get(city_admin, "?action=export&page=3").json()
    assert len(third["items"]) == 20 and third["has_next"] is False
    assert third["items"][-1]["detail"] == {"n": 0}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?actor=123", "actor"),
        ("?action=dance", "action"),
        ("?since=yesterday", "since"),
        ("?until=2020-02-30", "until"),
        ("?since=2020-02-22&until=2020-02-21", "until"),
        ("?page=0", "page"),
        ("?subject_id=" + "x" * 65, "subject_id"),
    ],
)
def test_it_answers_400_naming_the_bad_filter(city_admin, query, field):
    """A malformed filter: 400 naming it."""
    response = _get(city_admin, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    "persona", ["district_admin", "other_district_admin", "industry_admin", "qingxiu_reviewer"]
)
def test_it_is_for_city_admins_only(request, records, persona):
    """Other back-office roles: 403 on the API and the page."""
    user = request.getfixturevalue(persona)
    response = _get(user)
    assert response.status_code == 403 and response.json()["error"] == "city_admin_only"
    assert backoffice_client(user).get("/backoffice/audit").status_code == 403


def test_the_page_shows_and_filters_the_log(records, city_admin):
    """The page: who may see it, the table, filters, errors by field."""
    old, grant = records
    c = backoffice_client(city_admin)
    page = c.get("/backoffice/audit").content.decode()
    assert 'id="audit-who"' in page and "仅市级管理员" in page
    assert f'id="audit-{grant.pk}"' in page and "138****0108" in page
    assert "&quot;approve&quot;: true" in page
    page = c.get("/backoffice/audit?action=scan").content.decode()
    assert f'id="audit-{old.pk}"' in page and f'id="audit-{grant.pk}"' not in page
    page = c.get("/backoffice/audit?actor=12&since=nope").content.decode()
    assert 'id="error-actor"' in page and 'id="error-since"' in page
