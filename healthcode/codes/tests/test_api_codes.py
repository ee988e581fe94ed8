"""The codes API: declaring, reading, bad input, and who may see which code."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.codes.models import ColorChange, HealthCode
from healthcode.testing import ApiClient, declaration, id_number, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return make_user("13800000001")


@pytest.fixture
def bob():
    return make_user("13800000002")


def test_it_declares_a_green_code_for_someone_who_never_left_nanning(alice):
    """A local resident gets a green code with reasons; the name comes back masked."""
    r = ApiClient(alice).post("/codes", declaration())
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["color"] == "green"
    assert body["name"] == "赵*刚"
    assert body["reasons"] and all(x["rule"] and x["text"] for x in body["reasons"])
    assert body["path_to_green"] == []
    code = HealthCode.objects.get(public_id=body["id"])
    assert code.relation == "self"
    assert code.phone == alice.phone


def test_it_stores_the_id_number_encrypted_with_a_blind_index(alice):
    """The ID number is never stored in clear; the masked form keeps region and last four."""
    number = id_number()
    ApiClient(alice).post("/codes", declaration(id_number=number))
    code = HealthCode.objects.get()
    assert number not in code.id_number_encrypted
    assert number not in code.id_number_index
    assert code.id_number_masked == number[:6] + "********" + number[-4:]
    from healthcode.codes.services import ID_NUMBER_CONTEXT
    from healthcode.lib.crypto import decrypt_field

    assert decrypt_field(code.id_number_encrypted, context=ID_NUMBER_CONTEXT) == number


def test_it_records_the_declaration_and_first_colour(alice):
    """A declaration leaves an audit record, a colour-change history row and an audit of it."""
    ApiClient(alice).post("/codes", declaration())
    code = HealthCode.objects.get()
    change = ColorChange.objects.get(code=code)
    assert (change.color_from, change.color_to, change.cause) == ("", "green", "declaration")
    assert change.rule_set_version == code.rule_set_version
    actions = set(
        AuditRecord.objects.filter(subject_id=str(code.pk)).values_list("action", flat=True)
    )
    assert {"declaration", "color_change"} <= actions


@pytest.mark.parametrize(
    ("overrides", "color"),
    [
        ({"returned_from_elsewhere": True, "return_region": "450200"}, "green"),
        ({"returned_from_elsewhere": True, "return_region": "440300"}, "yellow"),
        ({"returned_from_elsewhere": True, "return_region": "440000"}, "yellow"),
        ({"returned_from_elsewhere": True, "return_region": "420100"}, "red"),
        ({"returned_from_elsewhere": True, "return_region": "420000"}, "red"),
    ],
)
def test_it_colours_by_where_the_resident_came_from(alice, overrides, color):
    """Guangxi → green, Guangdong → yellow, Hubei → red (the notice's table)."""
    arrival = (timezone.localdate() - timedelta(days=3)).isoformat()
    r = ApiClient(alice).post("/codes", declaration(arrival_date=arrival, **overrides))
    assert r.status_code == 201, r.content
    assert r.json()["color"] == color
    if color != "green":
        assert r.json()["path_to_green"], "a yellow or red code says how to get green"


def test_it_turns_a_contact_with_a_case_red(alice):
    """Contact with a confirmed, suspected or asymptomatic case → red."""
    contact = (timezone.localdate() - timedelta(days=2)).isoformat()
    r = ApiClient(alice).post("/codes", declaration(contact_with_case=True, contact_date=contact))
    assert r.json()["color"] == "red"


def test_it_explains_in_english_when_asked(alice):
    """Reasons follow Accept-Language."""
    arrival = (timezone.localdate() - timedelta(days=3)).isoformat()
    data = declaration(returned_from_elsewhere=True, return_region="420100", arrival_date=arrival)
    zh = ApiClient(alice).post("/codes", data).json()
    en = ApiClient(alice, language="en").get(f"/codes/{zh['id']}").json()
    assert zh["reasons"][0]["text"] != en["reasons"][0]["text"]
    assert "Hubei" in " ".join(r["text"] for r in en["reasons"])


BAD_INPUT = [
    ("id_number", {"id_number": id_number()[:-1] + ("0" if id_number()[-1] != "0" else "1")}),
    (
        "return_region",
        {"returned_from_elsewhere": True, "return_region": "999999", "arrival_date": "2020-02-01"},
    ),
    (
        "arrival_date",
        {"returned_from_elsewhere": True, "return_region": "440300", "arrival_date": "2099-01-01"},
    ),
    ("temperature", {"temperature": "45.0"}),
    ("temperature", {"temperature": "33.9"}),
    ("attestation", {"attestation": False}),
    ("phone", {"phone": "12345678901"}),
    ("district", {"district": "440300"}),
    ("contact_date", {"contact_with_case": True}),
]


@pytest.mark.parametrize(("field", "overrides"), BAD_INPUT)
def test_it_refuses_bad_input_naming_the_field_and_saving_nothing(alice, field, overrides):
    """400 with the field named and a message stating the rule; nothing saved or audited."""
    r = ApiClient(alice).post("/codes", declaration(**overrides))
    assert r.status_code == 400, r.content
    errors = r.json()["errors"]
    assert field in errors and errors[field][0]
    assert HealthCode.objects.count() == 0
    assert AuditRecord.objects.count() == 0


@pytest.mark.parametrize(("field", "overrides"), BAD_INPUT)
def test_it_states_the_rule_in_english_with_accept_language_en(alice, field, overrides):
    """The same refusal in English: the message differs from the Chinese one and is ASCII-led."""
    zh = ApiClient(alice).post("/codes", declaration(**overrides)).json()["errors"][field][0]
    en = (
        ApiClient(alice, language="en")
        .post("/codes", declaration(**overrides))
        .json()["errors"][field][0]
    )
    assert en != zh
    assert en[0].isascii()


def test_it_refuses_wrong_json_types_with_the_field_named(alice):
    """A string where a boolean belongs is a 400 naming the field, not a 422 or 500."""
    r = ApiClient(alice).post("/codes", declaration(contact_with_case="maybe"))
    assert r.status_code == 400
    assert "contact_with_case" in r.json()["errors"]


def test_it_gives_a_person_only_one_code(alice, bob):
    """The same ID number cannot be declared twice, by any account."""
    assert ApiClient(alice).post("/codes", declaration()).status_code == 201
    r = ApiClient(bob).post("/codes", declaration(phone=bob.phone))
    assert r.status_code == 400
    assert "id_number" in r.json()["errors"]


def test_it_holds_family_members_up_to_the_cap(alice, settings):
    """The account's own code plus at most HEALTHCODE_FAMILY_CAP family members."""
    settings.HEALTHCODE_FAMILY_CAP = 2
    api = ApiClient(alice)
    assert api.post("/codes", declaration()).json()["relation"] == "self"
    for seq in (2, 3):
        r = api.post("/codes", declaration(name="赵老汉", id_number=id_number(seq=seq)))
        assert r.status_code == 201
        assert r.json()["relation"] == "family"
    r = api.post("/codes", declaration(name="赵小妹", id_number=id_number(seq=4)))
    assert r.status_code == 400
    assert "__all__" in r.json()["errors"]
    assert len(api.get("/codes").json()) == 3


def test_it_never_shows_another_accounts_code(alice, bob):
    """Bob cannot read, list, get a QR for, or check in on Alice's code: 404, never 403."""
    code_id = ApiClient(alice).post("/codes", declaration()).json()["id"]
    api = ApiClient(bob)
    assert api.get("/codes").json() == []
    assert api.get(f"/codes/{code_id}").status_code == 404
    assert api.get(f"/codes/{code_id}/qr").status_code == 404
    assert api.get(f"/codes/{code_id}/checkins").status_code == 404
    r = api.post(
        f"/codes/{code_id}/checkins",
        {"temperature": 36.5, "symptoms": [], "in_nanning": True, "new_contact": False},
    )
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_it_answers_404_for_malformed_and_unknown_ids(alice):
    api = ApiClient(alice)
    assert api.get("/codes/not-a-uuid").status_code == 404
    assert api.get("/codes/00000000-0000-0000-0000-000000000000").status_code == 404


def test_it_requires_authentication():
    """Anonymous callers get 401 on every code endpoint."""
    api = ApiClient()
    assert api.get("/codes").status_code == 401
    assert api.post("/codes", declaration()).status_code == 401
    assert api.post("/scans", {"payload": "x"}).status_code == 401


def test_it_issues_a_short_lived_qr(alice):
    """The QR payload carries our prefix and expires within minutes."""
    code_id = ApiClient(alice).post("/codes", declaration()).json()["id"]
    body = ApiClient(alice).get(f"/codes/{code_id}/qr").json()
    assert body["payload"].startswith("NN1:")
    from datetime import datetime

    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(0) < expires - timezone.now() <= timedelta(minutes=10)


def test_it_publishes_an_openapi_schema_with_the_contract_paths():
    """The schema at /api/v1/schema documents SPEC §9's calls."""
    from django.test import Client

    schema = Client().get("/api/v1/schema").json()
    paths = schema["paths"]
    for p in [
        "/api/v1/auth/otp",
        "/api/v1/auth/token",
        "/api/v1/codes",
        "/api/v1/codes/{code_id}",
        "/api/v1/codes/{code_id}/qr",
        "/api/v1/codes/{code_id}/checkins",
        "/api/v1/scans",
    ]:
        assert p in paths, p


def test_it_validates_id_numbers_exactly_as_python_stdnum_does():
    """The cached validator agrees with stdnum.cn.ric.is_valid on valid numbers, every
    single-digit change of them, and numbers from regions that did not exist at birth."""
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError as StdnumError

    from healthcode.codes.forms import _validate_ric

    def ours(n: str) -> bool:
        try:
            _validate_ric(n)
        except StdnumError:
            return False
        return True

    samples = [id_number(), id_number(region="450110", born=date(1980, 1, 1)),
               id_number(region="450181", born=date(2022, 5, 1)), id_number(region="110101")]
    for number in samples:
        assert ours(number) == ric.is_valid(number), number
        for i in range(18):
            for digit in "0123456789X"[:11 if i == 17 else 10]:
                changed = number[:i] + digit + number[i + 1:]
                assert ours(changed) == ric.is_valid(changed), changed
