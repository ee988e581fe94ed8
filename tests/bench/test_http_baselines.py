"""The HTTP benchmark's baseline views (bench/httpbench), served beside the whole app."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from healthcode.codes.models import Scan
from healthcode.testing import ApiClient, declaration, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.httpbench.urls")]


def test_it_answers_the_bare_view():
    r = Client().get("/bench/bare")
    assert r.status_code == 200
    assert r.json() == {"ok": True}


def test_it_reads_a_code_by_key_and_inserts_one_scan():
    code_id = ApiClient(make_user("13800000001")).post("/codes", declaration()).json()["id"]
    r = Client().post(f"/bench/read-insert/{code_id}")
    assert r.status_code == 200
    assert r.json()["color"] == "green"
    assert Scan.objects.get(pk=r.json()["scan"]).code.public_id == uuid.UUID(code_id)
    assert Client().post(f"/bench/read-insert/{uuid.uuid4()}").status_code == 404


def test_it_serves_the_app_beside_the_baselines():
    assert Client().get("/healthz").status_code == 200
