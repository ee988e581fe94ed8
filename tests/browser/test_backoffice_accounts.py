"""Admin accounts end to end in Chromium: a resident applies for a reviewer account of 青秀区
(450103); a city admin logs in to the back office with password and the SMS code (read from
the `file` SMS backend) and approves it; the new reviewer logs in the same way and sees the
back-office home with the reviewer role."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from healthcode.backoffice.models import AdminApplication, AdminRole
from healthcode.testing import make_user
from tests.browser.conftest import SCREENSHOT_DIR

pytestmark = pytest.mark.usefixtures("regions")

CITY_PASSWORD = "Nanning-2020-city-admin"
REVIEWER_PASSWORD = "Nanning-2020-reviewer"


@pytest.fixture
def sms_file(settings, tmp_path):
    path = tmp_path / "sms.jsonl"
    settings.HEALTHCODE_SMS_BACKEND = "file"
    settings.HEALTHCODE_SMS_FILE = str(path)
    return path


def _last_code(sms_file, phone: str) -> str:
    lines = [json.loads(x) for x in sms_file.read_text(encoding="utf-8").splitlines()]
    text = [m["text"] for m in lines if m["to"] == phone][-1]
    return re.search(r"\b(\d{6})\b", text).group(1)


def as_user(browser: Browser, live_server, user) -> Page:
    """A browser context holding a resident session of `user` (as after the SMS login)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def screenshot_of(page: Page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"backoffice-accounts-{name}.png"), full_page=True)


def backoffice_login(page: Page, sms_file, phone: str, password: str) -> None:
    """Step 1 phone + password, step 2 the SMS code; lands on the back-office home."""
    page.goto("/backoffice/login")
    page.fill("#id_phone", phone)
    page.fill("#id_password", password)
    page.click("#login-password")
    expect(page.locator("#id_code")).to_be_visible()
    page.fill("#id_code", _last_code(sms_file, phone))
    page.click("#login-code")
    expect(page.locator("#backoffice-home")).to_be_visible()


def test_it_applies_approves_and_logs_in_the_new_reviewer(
    browser: Browser, live_server, transactional_db, sms_file
):
    resident = make_user("13800000701")
    city_admin = make_user("13800000702")
    city_admin.set_password(CITY_PASSWORD)
    city_admin.save()
    AdminRole.objects.create(user=city_admin, kind="city_admin")

    # The resident applies for a reviewer account of 青秀区.
    applicant = as_user(browser, live_server, resident)
    applicant.goto("/backoffice/apply")
    applicant.fill("#id_organisation", "青秀区卫生健康局")
    applicant.fill("#id_position", "科员")
    applicant.select_option("#id_kind", "reviewer")
    applicant.select_option("#id_district", "450103")
    applicant.fill("#id_reason", "负责青秀区健康码审核")
    applicant.fill("#id_password", REVIEWER_PASSWORD)
    applicant.fill("#id_password2", REVIEWER_PASSWORD)
    applicant.click("#apply-submit")
    application = AdminApplication.objects.get()
    expect(applicant.locator(f"#application-status-{application.pk}")).to_have_text("待审批")

    # The city admin logs in to the back office (password + SMS code) and approves it.
    admin_context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    admin = admin_context.new_page()
    backoffice_login(admin, sms_file, city_admin.phone, CITY_PASSWORD)
    expect(admin.locator("#my-roles")).to_contain_text("市级管理员")
    admin.click("#nav-applications")
    expect(admin.locator(f"#pending-application-{application.pk}")).to_contain_text("审核员")
    admin.click(f"#approve-application-{application.pk}")
    expect(admin.locator(f"#decided-application-{application.pk}")).to_contain_text("已批准")
    screenshot_of(admin, "approved")
    admin_context.close()

    # The applicant sees the decision. Setting the password ended the account's web sessions
    # (as any password change does in Django), so it logs in again.
    resident.refresh_from_db()
    applicant = as_user(browser, live_server, resident)
    applicant.goto("/backoffice/apply")
    expect(applicant.locator(f"#application-status-{application.pk}")).to_have_text("已批准")

    # The new reviewer logs in to the back office with the chosen password and an SMS code.
    reviewer_context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    reviewer = reviewer_context.new_page()
    backoffice_login(reviewer, sms_file, resident.phone, REVIEWER_PASSWORD)
    roles = reviewer.locator("#my-roles")
    expect(roles).to_contain_text("审核员")
    expect(roles).to_contain_text("青秀区")
    screenshot_of(reviewer, "reviewer-home")
    reviewer_context.close()
