"""Daily reports (每日上报): the draft filled in automatically, the first submission, corrections
that keep history, bad figures, the day rule, and the report page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.enterprises.models import DailyReport, DailyReportRevision
from healthcode.enterprises.tests.test_reports_status import seed_acme
from healthcode.testing import ApiClient

DRAFT = {
    "employees": 8,
    "on_site": 2,
    "returned_to_work": 3,
    "key_monitored": 3,
    "abnormal_health": 3,
    "checked_in": 4,
}


@pytest.fixture
def seeded(acme, globex, scanner, employee):
    return seed_acme(acme, globex, scanner, employee).enterprise


def _today() -> str:
    return timezone.localdate().isoformat()


def test_it_fills_in_the_draft(seeded, manager):
    """The draft counts employees, those scanned on site today, returned to work, key
    monitored, abnormal health and checked in; nothing has been submitted yet."""
    response = ApiClient(manager).get(f"/enterprises/{seeded.pk}/reports/draft")
    assert response.status_code == 200
    body = response.json()
    assert body["day"] == _today()
    assert body["figures"] == DRAFT
    assert body["report"] is None
    assert body["labels"]["on_site"] == "今日到岗人数"


def test_it_submits_the_draft_then_keeps_history_on_correction(seeded, manager, co_manager):
    """The first submission creates the report (201, revision 1) with the draft's figures; a
    later one the same day is a correction (200, revision 2) with the adjusted figures, and
    the first version is kept; both are audited."""
    response = ApiClient(manager).post(f"/enterprises/{seeded.pk}/reports", {"day": _today()})
    assert response.status_code == 201
    first = response.json()
    assert first["revision"] == 1
    assert first["figures"] == DRAFT
    assert first["revisions"] == []

    response = ApiClient(co_manager).post(
        f"/enterprises/{seeded.pk}/reports",
        {"day": _today(), "figures": {"on_site": 5}, "note": "门岗漏扫 3 人"},
    )
    assert response.status_code == 200
    second = response.json()
    assert second["revision"] == 2
    assert second["figures"] == {**DRAFT, "on_site": 5}
    assert second["note"] == "门岗漏扫 3 人"
    assert [r["revision"] for r in second["revisions"]] == [1]
    assert second["revisions"][0]["figures"] == DRAFT

    assert DailyReport.objects.filter(enterprise=seeded).count() == 1
    assert DailyReportRevision.objects.filter(report__enterprise=seeded).count() == 1
    actions = list(
        AuditRecord.objects.filter(subject_type="enterprises.dailyreport")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["report_submit", "report_correct"]
    correction = AuditRecord.objects.filter(action="report_correct").get()
    assert correction.detail["adjusted"] == {"on_site": {"draft": 2, "submitted": 5}}

    history = ApiClient(manager).get(f"/enterprises/{seeded.pk}/reports").json()
    assert len(history) == 1
    assert history[0]["revision"] == 2
    assert history[0]["revisions"][0]["revision"] == 1

    draft = ApiClient(manager).get(f"/enterprises/{seeded.pk}/reports/draft").json()
    assert draft["report"]["revision"] == 2


def test_it_accepts_yesterday(seeded, manager):
    """Yesterday's report may still be submitted."""
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = ApiClient(manager).post(f"/enterprises/{seeded.pk}/reports", {"day": yesterday})
    assert response.status_code == 201
    assert response.json()["day"] == yesterday


@pytest.mark.parametrize("days_ago", [2, -1])
def test_it_refuses_other_days(seeded, manager, days_ago):
    """Only today or yesterday: any other day → 400 on `day`, saying so; nothing written."""
    day = (timezone.localdate() - timedelta(days=days_ago)).isoformat()
    response = ApiClient(manager).post(f"/enterprises/{seeded.pk}/reports", {"day": day})
    assert response.status_code == 400
    assert "只能上报今天" in response.json()["errors"]["day"][0]
    assert not DailyReport.objects.exists()


@pytest.mark.parametrize(
    "figures,field",
    [
        ({"on_site": -1}, "figures.on_site"),
        ({"on_site": 9}, "figures.on_site"),  # more than the 8 employees on the roster
        ({"checked_in": "many"}, "figures.checked_in"),
        ({"checked_in": 2.5}, "figures.checked_in"),
        ({"key_monitored": True}, "figures.key_monitored"),
        ({"employees": 2, "abnormal_health": 3}, "figures.abnormal_health"),
        ({"visitors": 1}, "figures"),
    ],
)
def test_it_refuses_bad_figures(seeded, manager, figures, field):
    """Each figure must be a whole number from 0 to the employee count (and the others no
    more than the reported employees); an unknown figure is refused. 400 naming the figure,
    nothing written."""
    response = ApiClient(manager).post(
        f"/enterprises/{seeded.pk}/reports", {"day": _today(), "figures": figures}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors
    assert errors[field][0].endswith("。")
    assert not DailyReport.objects.exists()
    assert not AuditRecord.objects.filter(action="report_submit").exists()


def test_it_names_the_figure_in_english(seeded, manager):
    """Messages follow Accept-Language (the English catalogue comes later; the field key is
    stable)."""
    response = ApiClient(manager, language="en").post(
        f"/enterprises/{seeded.pk}/reports", {"day": _today(), "figures": {"on_site": -3}}
    )
    assert response.status_code == 400
    assert "figures.on_site" in response.json()["errors"]


def test_it_refuses_a_pending_enterprise(acme, manager):
    """An enterprise not yet approved cannot report (400 on `enterprise`)."""
    acme.status = "pending"
    acme.save()
    response = ApiClient(manager).post(f"/enterprises/{acme.pk}/reports", {"day": _today()})
    assert response.status_code == 400
    assert "enterprise" in response.json()["errors"]


def test_it_hides_another_enterprise_reports(seeded, other_manager, globex):
    """Another enterprise's manager gets 404 for acme's draft, reports and submission, and
    writes nothing."""
    client = ApiClient(other_manager)
    assert client.get(f"/enterprises/{seeded.pk}/reports/draft").status_code == 404
    assert client.get(f"/enterprises/{seeded.pk}/reports").status_code == 404
    assert client.post(f"/enterprises/{seeded.pk}/reports", {"day": _today()}).status_code == 404
    assert client.get("/enterprises/999999/status").status_code == 404
    assert not DailyReport.objects.exists()


def test_it_refuses_a_malformed_body(seeded, manager):
    """A missing or malformed day → 400 on `day`."""
    client = ApiClient(manager)
    assert "day" in client.post(f"/enterprises/{seeded.pk}/reports", {}).json()["errors"]
    response = client.post(f"/enterprises/{seeded.pk}/reports", {"day": "yesterday"})
    assert response.status_code == 400
    assert "day" in response.json()["errors"]


# --- The page ------------------------------------------------------------------------------------


def test_it_shows_the_draft_and_submits_from_the_page(seeded, manager):
    """The report page shows the draft in number inputs; submitting creates the report and
    shows it as submitted; submitting again with an adjusted figure is a correction shown in
    the history with the earlier version."""
    client = Client()
    client.force_login(manager)
    url = f"/enterprises/{seeded.pk}/report"
    html = client.get(url).content.decode()
    for name, value in DRAFT.items():
        assert f'id="fig-{name}" name="{name}" value="{value}"' in html
    for element_id in ("note", "submit-report", "report-history", "report-state"):
        assert f'id="{element_id}"' in html
    assert "尚未上报" in html

    form = {"day": _today(), **{k: str(v) for k, v in DRAFT.items()}, "note": ""}
    response = client.post(url, form)
    assert response.status_code == 302
    report = DailyReport.objects.get(enterprise=seeded)
    assert report.figures == DRAFT

    response = client.post(url, {**form, "on_site": "6", "note": "补录"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "第 2 版" in html
    assert 'data-revision="1"' in html and 'data-revision="2"' in html
    report.refresh_from_db()
    assert report.revision == 2
    assert report.figures["on_site"] == 6


def test_it_shows_bad_figures_on_the_page(seeded, manager):
    """A bad figure is shown by its input (400), nothing written."""
    client = Client()
    client.force_login(manager)
    form = {"day": _today(), **{k: str(v) for k, v in DRAFT.items()}, "on_site": "-4"}
    response = client.post(f"/enterprises/{seeded.pk}/report", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-on_site"' in html
    assert 'value="-4"' in html
    assert not DailyReport.objects.exists()


def test_it_says_an_old_day_cannot_be_reported(seeded, manager):
    """An older day is shown read-only with the rule stated, and a post for it is refused."""
    client = Client()
    client.force_login(manager)
    old = (timezone.localdate() - timedelta(days=3)).isoformat()
    html = client.get(f"/enterprises/{seeded.pk}/report?day={old}").content.decode()
    assert 'id="not-reportable"' in html
    form = {"day": old, **{k: str(v) for k, v in DRAFT.items()}}
    response = client.post(f"/enterprises/{seeded.pk}/report", form)
    assert response.status_code == 400
    assert "只能上报今天" in response.content.decode()
    assert not DailyReport.objects.exists()
