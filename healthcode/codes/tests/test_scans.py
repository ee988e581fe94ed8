"""Online verification of scanned tokens (POST /api/v1/scans)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from healthcode.codes import keys
from healthcode.codes.models import HealthCode, Scan
from healthcode.testing import ApiClient, declaration, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return make_user("13800000001")


@pytest.fixture
def scanner():
    return make_user("13900000009")


@pytest.fixture
def payload(alice):
    code_id = ApiClient(alice).post("/codes", declaration()).json()["id"]
    return ApiClient(alice).get(f"/codes/{code_id}/qr").json()["payload"]


def test_it_verifies_a_fresh_token(scanner, payload):
    r = ApiClient(scanner).post("/scans", {"payload": payload})
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is True
    assert (body["color"], body["name"]) == ("green", "赵*刚")
    assert Scan.objects.get().result == "valid"


def test_it_rejects_a_tampered_token(scanner, payload):
    i = len(payload) // 2
    forged = payload[:i] + ("A" if payload[i] != "A" else "B") + payload[i + 1 :]
    body = ApiClient(scanner).post("/scans", {"payload": forged}).json()
    assert body["valid"] is False
    assert body["error"] in {"bad_signature", "malformed"}
    assert body["detail"]


def test_it_rejects_an_expired_token(scanner, alice, payload):
    code = HealthCode.objects.get()
    old, _ = keys.issue_token(code, now=timezone.now() - timedelta(hours=1))
    body = ApiClient(scanner).post("/scans", {"payload": old}).json()
    assert (body["valid"], body["error"]) == (False, "expired")


def test_it_rejects_garbage_as_malformed(scanner):
    for junk in ["", "hello", "NN1:", "NN1:%%%%", "HC1:6BFOXN%TS3DH0YOJ58S"]:
        body = ApiClient(scanner).post("/scans", {"payload": junk}).json()
        assert (body["valid"], body["error"]) == (False, "malformed"), junk
    assert Scan.objects.filter(result="malformed").count() == 5


def test_it_answers_the_current_colour_not_the_tokens(scanner, alice, payload):
    """A token issued while green, scanned after a fever check-in, shows yellow."""
    code = HealthCode.objects.get()
    ApiClient(alice).post(
        f"/codes/{code.public_id}/checkins",
        {"temperature": 38.5, "symptoms": ["fever"], "in_nanning": True, "new_contact": False},
    )
    body = ApiClient(scanner).post("/scans", {"payload": payload}).json()
    assert (body["valid"], body["token_color"], body["color"]) == (True, "green", "yellow")
