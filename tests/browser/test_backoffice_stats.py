"""The statistics dashboard (统计) in Chromium: a city admin opens /backoffice/stats, the five
ECharts charts are drawn from the API (each container holds a canvas of non-zero size and an
ECharts instance), and clicking the red bar of 青秀区 in the district chart opens the roster
filtered by that district and colour."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from healthcode.backoffice.models import AdminRole
from healthcode.backoffice.tests.test_stats_figures import seed
from healthcode.testing import backoffice_client, make_user
from tests.browser.conftest import SCREENSHOT_DIR

pytestmark = pytest.mark.usefixtures("regions")

CHARTS = ("district", "industry", "trend", "checkins", "reports")


def as_backoffice_user(browser: Browser, live_server, user) -> Page:
    """A browser context holding a session that passed the back-office login."""
    client = backoffice_client(user)
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def test_it_draws_the_dashboard_and_opens_the_roster(
    browser: Browser, live_server, transactional_db
):
    """Every chart is drawn by ECharts; a click on a bar opens the roster with its filter."""
    seed()
    admin = make_user("13700000001")
    AdminRole.objects.create(user=admin, kind="city_admin")
    page = as_backoffice_user(browser, live_server, admin)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto("/backoffice/stats")
    for name in CHARTS:
        page.wait_for_selector(f"#chart-{name}[data-drawn='true'] canvas")
        drawn = page.evaluate(
            """(id) => {
                const el = document.getElementById(id);
                const canvas = el.querySelector("canvas, svg");
                const box = canvas.getBoundingClientRect();
                return {
                    instance: window.echarts.getInstanceByDom(el) !== undefined
                        && window.echarts.getInstanceByDom(el) !== null,
                    width: box.width,
                    height: box.height,
                };
            }""",
            f"chart-{name}",
        )
        assert drawn["instance"], name
        assert drawn["width"] > 0 and drawn["height"] > 0, (name, drawn)
    assert page.locator("#error-chart-district").is_hidden()
    # The data table stays available under each chart.
    assert page.locator("#district-450103 .count-red").text_content() == "1"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "backoffice-stats.png"), full_page=True)

    # The centre of 青秀区's red bar: the bars are stacked green (3), yellow (2), red (1).
    page.locator("#chart-district").scroll_into_view_if_needed()
    point = page.evaluate(
        """() => {
            const stats = window.healthcodeStats;
            const rows = stats.data.district.rows;
            const index = rows.findIndex((row) => row.district === "450103");
            const row = rows[index];
            const middle = row.green + row.yellow + row.red / 2;
            const [x, y] = stats.charts.district.convertToPixel({gridIndex: 0}, [middle, index]);
            const box = document.getElementById("chart-district").getBoundingClientRect();
            return {x: box.left + x, y: box.top + y};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/backoffice/roster?**")
    assert page.url.endswith("/backoffice/roster?district=450103&color=red")
    assert errors == []
