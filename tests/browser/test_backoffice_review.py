"""Reviewing a red code to green in Chromium, as the management issue's "Done when" says: a
resident came back from Hubei 20 days ago and has checked in every day since; a reviewer of
the district, logged in to the back office, finds the code in the queue, opens it, sees why it
is red and approves it; the code is green at once and the resident's "why" page says so."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from healthcode.backoffice.models import AdminRole
from healthcode.checkins.services import record_checkin
from healthcode.codes import services as code_services
from healthcode.testing import backoffice_client, declaration, id_number, make_user
from tests.browser.conftest import SCREENSHOT_DIR

pytestmark = pytest.mark.usefixtures("regions")

HEALTHY = {"temperature": "36.4", "symptoms": [], "in_nanning": True, "new_contact": False}


def in_browser(browser: Browser, live_server, client: Client) -> Page:
    """A browser context holding the session of a test client (as after a login)."""
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def snap(page: Page, name: str) -> None:
    """A full-page screenshot as var/screenshots/backoffice-review-<name>.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"backoffice-review-{name}.png"), full_page=True)


def test_it_reviews_a_red_code_to_green(browser: Browser, live_server, transactional_db):
    resident = make_user("13800000701")
    arrival = timezone.localdate() - timedelta(days=20)
    code = code_services.declare(
        account=resident,
        data=declaration(
            name="钱小红",
            id_number=id_number(seq=701),
            phone="13800000701",
            returned_from_elsewhere=True,
            return_region="420100",
            arrival_date=arrival.isoformat(),
        ),
    )
    tz = timezone.get_current_timezone()
    for offset in range(20):  # a clean check-in every day since the arrival, up to yesterday
        day = arrival + timedelta(days=offset)
        record_checkin(
            code=code, actor=resident, data=HEALTHY, now=datetime.combine(day, time(9), tz)
        )
    code.refresh_from_db()
    assert code.color == "red"
    reviewer = make_user("13800000702")
    AdminRole.objects.create(user=reviewer, kind="reviewer", district_id="450103")

    # The reviewer finds the code in the queue of 青秀区 and opens it.
    page = in_browser(browser, live_server, backoffice_client(reviewer))
    page.goto("/backoffice/reviews")
    row = page.locator(f"#code-{code.public_id}")
    expect(row).to_contain_text("钱*红")
    expect(row).to_contain_text("湖北")
    expect(row.locator("input[name=codes]")).to_be_visible()
    snap(page, "queue")
    page.click(f"#open-{code.public_id}")

    # Why it is red, what is missing (the review), and the last 14 days of check-ins.
    expect(page.locator("#code-color")).to_have_text("红码")
    expect(page.locator("#reasons")).to_contain_text("湖北")
    expect(page.locator("#path")).to_contain_text("等待审核部门按规定审核确认")
    # A header and the 13 days of the last 14 with a check-in (none yet today).
    expect(page.locator("#checkins tr")).to_have_count(14)
    page.fill("#note", "已满14天观察期，每日打卡正常")
    page.click("#approve")
    expect(page.locator(".messages")).to_contain_text("已审核通过，健康码已转为绿码")
    expect(page.locator("#code-color")).to_have_text("绿码")
    expect(page.locator("#approve")).to_have_count(0)
    snap(page, "approved")

    # The resident's "why" page shows green.
    holder = Client()
    holder.force_login(resident)
    mine = in_browser(browser, live_server, holder)
    mine.goto(f"/codes/{code.public_id}/why")
    expect(mine.locator("h1 .badge")).to_have_text("绿码")
    expect(mine.locator("#path")).to_contain_text("您的健康码为绿码")
    expect(mine.locator("#changes")).to_contain_text("红码 → 绿码（审核）")
    snap(mine, "resident-why")
