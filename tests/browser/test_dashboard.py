"""Browser: the live status page refreshes itself from the status API without reloading, and
the daily report page submits and corrects with history. (Part D; for tests/browser/.)"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from healthcode.checkins.services import record_checkin
from healthcode.codes import services as code_services
from healthcode.enterprises.models import Attendance, Employee, Enterprise, EnterpriseManager
from healthcode.testing import credit_code, declaration, id_number, make_user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("regions")]


def person(phone: str, name: str, seq: int):
    user = make_user(phone)
    code = code_services.declare(
        account=user, data=declaration(name=name, id_number=id_number(seq=seq), phone=phone)
    )
    return user, code


def log_in(page: Page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies(
        [{"name": "sessionid", "value": cookie.value, "url": live_server.url, "httpOnly": True}]
    )


@pytest.fixture
def acme(transactional_db):
    manager, _ = person("13800000301", "王经理", 301)
    enterprise = Enterprise.objects.create(
        name="南宁艾克米制造有限公司",
        credit_code=credit_code(31),
        district_id="450103",
        industry="C",
        department="gxj",
        address="南宁市某路 1 号",
        contact_name="王经理",
        contact_phone=manager.phone,
        status="approved",
        registered_by=manager,
    )
    EnterpriseManager.objects.create(enterprise=enterprise, user=manager, role="owner")
    return enterprise, manager


def test_it_refreshes_the_dashboard_without_reloading(page: Page, live_server, acme, screenshot):
    """A fever check-in after the page is open shows up after a refresh of the cards, while
    the page itself is not reloaded."""
    enterprise, manager = acme
    worker, code = person("13800000302", "刘员工", 302)
    Employee.objects.create(enterprise=enterprise, name="刘员工", phone=worker.phone, code=code)
    log_in(page, live_server, manager)
    page.goto(f"/enterprises/{enterprise.pk}/dashboard")
    expect(page.locator("#count-green")).to_have_text("1")
    expect(page.locator("#abnormal-list")).to_contain_text("暂无")
    page.evaluate("window.__sameDocument = true")

    record_checkin(
        code=code,
        actor=worker,
        data={
            "temperature": "38.1",
            "symptoms": ["cough"],
            "in_nanning": True,
            "new_contact": False,
        },
    )
    Attendance.objects.create(
        enterprise=enterprise,
        employee=Employee.objects.get(code=code),
        code=code,
        at=timezone.now(),
        day=timezone.localdate(),
        color="yellow",
        verdict="may_not_work",
        temperature=Decimal("38.1"),
        symptoms=["cough"],
    )
    page.evaluate("document.getElementById('dashboard').refreshStatus()")
    expect(page.locator("#count-yellow")).to_have_text("1")
    expect(page.locator("#count-green")).to_have_text("0")
    expect(page.locator("#checkin-completion")).to_have_text("1 / 1 (100.0%)")
    expect(page.locator("#scan-completion")).to_have_text("1 / 1 (100.0%)")
    expect(page.locator("#abnormal-list")).to_contain_text("刘*")
    expect(page.locator("#abnormal-list")).to_contain_text("38.1°C")
    expect(page.locator("#key-list")).to_contain_text("黄码")
    assert page.evaluate("window.__sameDocument") is True
    screenshot("dashboard")


def test_it_submits_and_corrects_the_daily_report(page: Page, live_server, acme):
    """The manager submits the draft, then corrects one figure; the history keeps both."""
    enterprise, manager = acme
    log_in(page, live_server, manager)
    page.goto(f"/enterprises/{enterprise.pk}/report")
    expect(page.locator("#fig-employees")).to_have_value("0")
    page.click("#submit-report")
    expect(page.locator("#report-state")).to_contain_text("第 1 版")
    page.fill("#note", "更正")
    page.click("#submit-report")
    expect(page.locator("#report-state")).to_contain_text("第 2 版")
    expect(page.locator("#report-history tr[data-revision]")).to_have_count(2)
