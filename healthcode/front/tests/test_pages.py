"""Resident pages: my codes, add a code, the code page, check-in, why, elder mode, language."""

from __future__ import annotations

import pytest
from django.test import Client

from healthcode.checkins.models import CheckIn
from healthcode.codes.models import HealthCode
from healthcode.testing import declaration, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return make_user("13800000001")


@pytest.fixture
def client_alice(alice):
    c = Client()
    c.force_login(alice)
    return c


def _form(data):
    out = {}
    for k, v in data.items():
        if isinstance(v, bool):
            if v:
                out[k] = "on"
        else:
            out[k] = v
    return out


def test_it_sends_anonymous_visitors_to_login():
    r = Client().get("/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login")


def test_it_lists_my_codes(client_alice):
    r = client_alice.get("/")
    assert r.status_code == 200
    assert "添加健康码" in r.content.decode()


def test_it_declares_through_the_form_and_shows_the_code(client_alice):
    r = client_alice.post("/codes/new", _form(declaration()))
    assert r.status_code == 302, r.content.decode()[:2000]
    code = HealthCode.objects.get()
    assert r["Location"] == f"/codes/{code.public_id}"
    page = client_alice.get(r["Location"]).content.decode()
    assert 'data-payload="NN1:' in page
    assert "<svg" in page
    assert "绿码" in page


def test_it_shows_field_errors_on_the_form_and_saves_nothing(client_alice):
    r = client_alice.post("/codes/new", _form(declaration(temperature="45", attestation=False)))
    assert r.status_code == 200
    page = r.content.decode()
    assert "34.0" in page and "43.0" in page
    assert "必须勾选承诺" in page
    assert HealthCode.objects.count() == 0


def test_it_checks_in_with_fever_and_shows_why(client_alice):
    client_alice.post("/codes/new", _form(declaration()))
    code = HealthCode.objects.get()
    r = client_alice.post(
        f"/codes/{code.public_id}/checkin",
        {"temperature": "38.4", "symptoms": ["fever"], "in_nanning": "True", "new_contact": "False"},
    )
    assert r.status_code == 302
    assert str(CheckIn.objects.get().temperature) == "38.4"
    why = client_alice.get(f"/codes/{code.public_id}/why").content.decode()
    assert "黄码" in why and "38.4" in why


def test_it_refuses_a_checkin_out_of_range(client_alice):
    client_alice.post("/codes/new", _form(declaration()))
    code = HealthCode.objects.get()
    r = client_alice.post(
        f"/codes/{code.public_id}/checkin",
        {"temperature": "50", "in_nanning": "True", "new_contact": "False"},
    )
    assert r.status_code == 200
    assert "34.0" in r.content.decode()
    assert CheckIn.objects.count() == 0


def test_it_refreshes_the_qr_as_json(client_alice):
    client_alice.post("/codes/new", _form(declaration()))
    code = HealthCode.objects.get()
    body = client_alice.get(f"/codes/{code.public_id}/qr").json()
    assert body["payload"].startswith("NN1:") and body["svg"].startswith("<")
    assert body["color"] == "green"


def test_it_hides_other_accounts_codes_on_every_page(client_alice):
    client_alice.post("/codes/new", _form(declaration()))
    code = HealthCode.objects.get()
    bob = Client()
    bob.force_login(make_user("13800000002"))
    for suffix in ("", "/qr", "/why", "/checkin"):
        assert bob.get(f"/codes/{code.public_id}{suffix}").status_code == 404, suffix
    r = bob.post(f"/codes/{code.public_id}/checkin", {"temperature": "36.5", "in_nanning": "True", "new_contact": "False"})
    assert r.status_code == 404
    assert CheckIn.objects.count() == 0


def test_it_switches_elder_mode_with_a_cookie(client_alice):
    r = client_alice.post("/elder", {"elder": "1", "next": "/"})
    assert r.status_code == 302 and r.cookies["elder"].value == "1"
    assert 'class="elder"' in client_alice.get("/").content.decode()
    r = client_alice.post("/elder", {"elder": "0", "next": "https://evil.example/"})
    assert r["Location"] == "/"


def test_it_switches_language_to_english(client_alice):
    client_alice.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client_alice.get("/").content.decode()
    assert "Add a health code" in page


def test_it_answers_healthz():
    r = Client().get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_it_shows_the_declaration_masked_and_audits_a_reveal(client_alice, alice):
    """The holder sees the ID number masked; revealing it is a POST that is audited."""
    from healthcode.audit.models import AuditRecord
    from healthcode.testing import id_number

    client_alice.post("/codes/new", _form(declaration()))
    code = HealthCode.objects.get()
    page = client_alice.get(f"/codes/{code.public_id}/declaration").content.decode()
    assert code.id_number_masked in page and id_number() not in page
    assert not AuditRecord.objects.filter(action="unmasked_view").exists()
    page = client_alice.post(
        f"/codes/{code.public_id}/declaration", {"reveal": "id_number"}
    ).content.decode()
    assert id_number() in page
    record = AuditRecord.objects.get(action="unmasked_view")
    assert (record.actor, record.subject_id, record.detail) == (alice, str(code.pk), {"field": "id_number"})
    bob = Client()
    bob.force_login(make_user("13800000002"))
    assert bob.post(f"/codes/{code.public_id}/declaration", {"reveal": "id_number"}).status_code == 404
    assert AuditRecord.objects.filter(action="unmasked_view").count() == 1
