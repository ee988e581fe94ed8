"""The scanner page in Chromium: a real QR image of a fresh token, rendered by segno to a PNG,
goes through the page's own decoding path (file input → canvas → the vendored jsQR), is
verified by POST /api/v1/scans, and attendance is recorded with a temperature."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import segno
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from healthcode.checkins.models import CheckIn
from healthcode.codes import keys
from healthcode.codes import services as code_services
from healthcode.enterprises.models import Attendance, Employee, Enterprise, EnterpriseManager
from healthcode.testing import credit_code, declaration, id_number, make_user
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.usefixtures("regions")


def person(phone: str, name: str, seq: int, **facts):
    user = make_user(phone)
    code_services.declare(
        account=user,
        data=declaration(name=name, id_number=id_number(seq=seq), phone=phone, **facts),
    )
    return user


@pytest.fixture
def acme(transactional_db):
    owner = person("13800000401", "王经理", 401)
    enterprise = Enterprise.objects.create(
        name="南宁艾克米制造有限公司", credit_code=credit_code(41), district_id="450103",
        industry="C", department="gxj", address="南宁市某路 1 号", contact_name="王经理",
        contact_phone=owner.phone, status="approved", registered_by=owner,
    )  # fmt: skip
    EnterpriseManager.objects.create(enterprise=enterprise, user=owner, role="owner")
    return enterprise


@pytest.fixture
def scanner(acme):
    user = person("13800000403", "张扫码", 403)
    Employee.objects.create(
        enterprise=acme,
        name="张扫码",
        phone=user.phone,
        code=user.health_codes.get(),
        can_scan=True,
    )
    return user


@pytest.fixture
def worker(acme):
    user = person("13800000404", "刘员工", 404)
    Employee.objects.create(
        enterprise=acme, name="刘员工", phone=user.phone, code=user.health_codes.get(),
        department_name="装配车间",
    )  # fmt: skip
    return user


def log_in(page: Page, live_server, user) -> None:
    """Put a session of `user` into the browser, as a login would."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies(
        [{"name": "sessionid", "value": cookie.value, "url": live_server.url, "httpOnly": True}]
    )


def qr_png(payload: str, path, **style) -> str:
    """The token as a real QR image, as a phone photo of the code page would carry it."""
    segno.make_qr(payload, error="q").save(str(path), kind="png", scale=8, border=4, **style)
    return str(path)


def test_it_decodes_a_qr_image_verifies_and_records_attendance(
    page: Page, live_server, scanner, worker, acme, tmp_path, screenshot
):
    log_in(page, live_server, scanner)
    payload, _ = keys.issue_token(worker.health_codes.get())
    page.goto(f"/enterprises/{acme.pk}/scan")
    expect(page.locator("#scan-enterprise")).to_have_text(acme.name)

    page.set_input_files("#qr-image", qr_png(payload, tmp_path / "code.png"))

    # Decoded in the page by jsQR: the payload appears in the paste field.
    expect(page.locator("#payload")).to_have_value(payload)
    expect(page.locator("#verdict")).to_have_text("可返岗")
    expect(page.locator("#scan-color")).to_have_text("绿码")
    expect(page.locator("#scan-name")).to_have_text("刘*工")
    expect(page.locator("#scan-employee")).to_contain_text("本企业员工")
    expect(page.locator("#scan-employee")).to_contain_text("装配车间")
    expect(page.locator("#scan-checkin")).to_have_text("今日尚未健康打卡")
    screenshot("verified")

    page.fill("#temperature", "36.6")
    page.click("#record")
    result = page.locator("#attendance-result")
    expect(result).to_contain_text("已记录健康考勤")
    expect(result).to_contain_text("36.6")
    expect(page.locator("#scan-checkin")).to_have_text("今日已健康打卡")
    screenshot("recorded")

    attendance = Attendance.objects.get()
    assert result.get_attribute("data-attendance") == str(attendance.pk)
    assert (attendance.enterprise_id, attendance.scanner_id) == (acme.pk, scanner.pk)
    assert attendance.employee.phone == worker.phone
    assert (str(attendance.temperature), attendance.verdict) == ("36.6", "may_work")
    assert CheckIn.objects.get(code__account=worker).source == "enterprise_scan"


def test_it_shows_why_a_yellow_code_may_not_work_and_records_a_fever(
    page: Page, live_server, scanner, acme, tmp_path
):
    """A traveller's yellow code from a low-contrast photo: 暂不可返岗 with the reasons and
    the path to green; a fever recorded at the gate is kept with the colour after it."""
    traveller = person(
        "13800000405", "郑旅客", 405, returned_from_elsewhere=True, return_region="440300",
        arrival_date=(timezone.localdate() - timedelta(days=2)).isoformat(),
    )  # fmt: skip
    log_in(page, live_server, scanner)
    payload, _ = keys.issue_token(traveller.health_codes.get())
    page.goto(f"/enterprises/{acme.pk}/scan")
    image = qr_png(payload, tmp_path / "grey.png", dark="#3a3a3a", light="#d8d8d8")
    page.set_input_files("#qr-image", image)

    expect(page.locator("#payload")).to_have_value(payload)
    expect(page.locator("#verdict")).to_have_text("暂不可返岗")
    expect(page.locator("#scan-color")).to_have_text("黄码")
    expect(page.locator("#scan-employee")).to_have_text("不是本企业在职员工")
    expect(page.locator("#scan-reasons li").first).to_be_visible()
    expect(page.locator("#scan-path li").first).to_be_visible()

    page.fill("#temperature", "38.4")
    page.check("input[name=symptoms][value=fever]")
    page.click("#record")
    expect(page.locator("#attendance-result")).to_contain_text("38.4")
    expect(page.locator("#attendance-result")).to_contain_text("暂不可返岗")
    attendance = Attendance.objects.get()
    assert (attendance.color, attendance.symptoms, attendance.employee) == (
        "yellow",
        ["fever"],
        None,
    )


def test_it_verifies_a_pasted_payload_and_says_why_a_token_is_refused(
    page: Page, live_server, scanner, worker, acme
):
    """The paste path feeds the same verification; a bad temperature names the rule and a
    screenshot-old token is refused, recording nothing."""
    log_in(page, live_server, scanner)
    page.goto(f"/enterprises/{acme.pk}/scan")
    payload, _ = keys.issue_token(worker.health_codes.get())
    page.fill("#payload", payload)
    page.click("#verify")
    expect(page.locator("#verdict")).to_have_text("可返岗")
    page.fill("#temperature", "45")
    page.click("#record")
    expect(page.locator("#record-errors")).to_contain_text("34.0 至 43.0")

    old, _ = keys.issue_token(worker.health_codes.get(), now=timezone.now() - timedelta(hours=1))
    page.fill("#payload", old)
    page.click("#verify")
    expect(page.locator("#scan-error")).to_contain_text("过期")
    expect(page.locator("#record-form")).to_be_hidden()
    assert not Attendance.objects.exists()


def qr_y4m(payload: str, path: Path, width: int = 640, height: int = 480) -> str:
    """The token's QR code as one frame of Y4M video (YUV 4:2:0, greyscale), the format
    Chromium's fake camera plays in a loop."""
    matrix = [list(row) for row in segno.make_qr(payload, error="q").matrix_iter(border=4)]
    scale = min(width, height) * 9 // 10 // len(matrix)
    left, top = (width - len(matrix) * scale) // 2, (height - len(matrix) * scale) // 2
    luma = bytearray([235]) * (width * height)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + y * scale + dy) * width + left + x * scale
                    luma[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (width // 2 * height // 2)
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + bytes(luma) + chroma + chroma)
    return str(path)


def test_it_decodes_a_qr_code_from_the_camera(
    browser: Browser, live_server, scanner, worker, acme, tmp_path
):
    """The camera path: Chromium's fake camera films the QR code; getUserMedia → canvas →
    jsQR decodes it and the verification follows, as on a phone."""
    payload, _ = keys.issue_token(worker.health_codes.get())
    video = qr_y4m(payload, tmp_path / "qr.y4m")
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(base_url=live_server.url, locale="zh-CN")
        context.grant_permissions(["camera"], origin=live_server.url)
        page = context.new_page()
        log_in(page, live_server, scanner)
        page.goto(f"/enterprises/{acme.pk}/scan")
        page.click("#start-camera")
        expect(page.locator("#payload")).to_have_value(payload)
        expect(page.locator("#verdict")).to_have_text("可返岗")
        expect(page.locator("#camera-view")).to_be_hidden()  # the camera stops once decoded
        expect(page.locator("#start-camera")).to_be_visible()
    finally:
        camera_browser.close()
