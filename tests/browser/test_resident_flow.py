"""The resident's whole path in Chromium: log in with the SMS code from the `file` backend,
apply for a code, see the signed QR (verified independently with pycose against the
published JWK Set), check in with fever, and see the colour change with its reason."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from healthcode.testing import id_number

pytestmark = pytest.mark.usefixtures("regions")


@pytest.fixture
def sms_file(settings, tmp_path):
    path = tmp_path / "sms.jsonl"
    settings.HEALTHCODE_SMS_BACKEND = "file"
    settings.HEALTHCODE_SMS_FILE = str(path)
    return path


def _last_code(sms_file, phone: str) -> str:
    lines = [json.loads(x) for x in sms_file.read_text(encoding="utf-8").splitlines()]
    text = [m for m in lines if m["to"] == phone][-1]["text"]
    return re.search(r"\b(\d{6})\b", text).group(1)


def login(page: Page, sms_file, phone: str) -> None:
    page.goto("/")
    page.fill("#id_phone", phone)
    page.click("#send-code")
    expect(page.locator("#id_code")).to_be_visible()
    page.fill("#id_code", _last_code(sms_file, phone))
    page.click("#verify-code")
    expect(page.locator("#add-code")).to_be_visible()


def verify_with_pycose(payload: str, base_url: str) -> dict:
    """Decode and verify the QR payload with pycose, using only the public JWK Set."""
    import zlib

    import cbor2
    from pycose.headers import KID
    from pycose.messages import Sign1Message

    from healthcode.codes.tests.independent import b45decode, b64url_decode, cose_key_from_jwk

    with urllib.request.urlopen(f"{base_url}/.well-known/healthcode/keys") as response:
        jwks = json.load(response)
    raw = zlib.decompress(b45decode(payload.split(":", 1)[1]))
    message = Sign1Message.decode(raw)
    kid = message.phdr[KID]
    # The JWK "kid" is the base64url form of the COSE kid bytes (as the EU DCC publishes them).
    jwk = next(k for k in jwks["keys"] if b64url_decode(k["kid"]) == kid)
    message.key = cose_key_from_jwk(jwk)
    assert message.verify_signature()
    # The same independent verifier refuses the token once any payload byte is changed.
    forged = Sign1Message.decode(raw)
    forged.key = message.key
    forged.payload = forged.payload[:-1] + bytes([forged.payload[-1] ^ 1])
    assert not forged.verify_signature()
    return cbor2.loads(message.payload)


def test_it_logs_in_applies_shows_qr_checks_in_with_fever(page: Page, live_server, sms_file, screenshot):
    login(page, sms_file, "13712345678")

    page.click("#add-code")
    page.fill("#id_name", "赵小刚")
    page.fill("#id_id_number", id_number())
    page.select_option("#id_district", "450103")
    page.fill("#id_address", "南宁市青秀区民族大道 100 号")
    page.check("#id_returned_from_elsewhere")
    page.fill("#id_return_region", "440300")
    page.fill("#id_arrival_date", (timezone.localdate() - timedelta(days=2)).isoformat())
    page.fill("#id_temperature", "36.5")
    page.check("#id_attestation")
    page.click("#submit-declaration")

    frame = page.locator("#qr-frame")
    expect(frame.locator("svg")).to_be_visible()
    expect(page.locator("#color-label")).to_have_text("黄码")
    expect(page.locator("#clock")).to_have_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"))
    screenshot("code")
    payload = frame.get_attribute("data-payload")
    claims = verify_with_pycose(payload, live_server.url)
    assert "yellow" in json.dumps(claims, ensure_ascii=False, default=str)
    assert "赵*刚" in json.dumps(claims, ensure_ascii=False, default=str)
    assert id_number() not in json.dumps(claims, ensure_ascii=False, default=str)

    page.click("#checkin-link")
    page.fill("#id_temperature", "38.6")
    page.check("input[name=symptoms][value=fever]")
    page.check("#id_in_nanning_0")
    page.check("#id_new_contact_1")
    page.click("#submit-checkin")
    expect(page.locator("#color-label")).to_have_text("黄码")
    expect(page.locator("#reasons")).to_contain_text("38.6")

    page.click("#why-link")
    expect(page.locator("#path")).to_be_visible()
    expect(page.locator("#reasons")).to_contain_text("38.6")
    screenshot("why")


def test_it_turns_green_to_yellow_on_fever(page: Page, live_server, sms_file):
    """A local resident's green code turns yellow after a fever check-in, with the reason."""
    login(page, sms_file, "13712345679")
    page.click("#add-code")
    page.fill("#id_name", "钱多多")
    page.fill("#id_id_number", id_number(seq=77))
    page.select_option("#id_district", "450102")
    page.fill("#id_address", "南宁市兴宁区朝阳路 1 号")
    page.check("#id_attestation")
    page.click("#submit-declaration")
    expect(page.locator("#color-label")).to_have_text("绿码")
    page.click("#checkin-link")
    page.fill("#id_temperature", "38.2")
    page.check("#id_in_nanning_0")
    page.check("#id_new_contact_1")
    page.click("#submit-checkin")
    expect(page.locator("#color-label")).to_have_text("黄码")
    expect(page.locator("#reasons")).to_contain_text("38.2")
