"""The official-list API under /api/v1/admin/official-lists: template, import (201 / 400 with
every bad row), batches, one batch's entries, withdrawal."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from healthcode.codes.models import HealthCode, OfficialListEntry, OfficialListImport
from healthcode.codes.tests.test_official_lists import (
    csv_bytes,
    listed_day,
    mixed_rows,
    person,
)
from healthcode.testing import AdminApiClient, id_number

pytestmark = pytest.mark.django_db

BASE = "/api/v1/admin/official-lists"


def post_file(client: AdminApiClient, content: bytes, name: str = "list.csv"):
    return client.client.post(
        BASE, data={"file": SimpleUploadedFile(name, content)}, **client.headers
    )


@pytest.fixture
def two_codes(db):
    return person("13900000201", 201, "赵小刚"), person("13900000202", 202, "钱多多")


@pytest.fixture
def api(city_admin):
    return AdminApiClient(city_admin)


def test_it_imports_and_answers_the_counts_and_unmatched_rows(api, two_codes):
    """201 with id, rows, matched, unmatched and the unmatched rows masked; codes red."""
    day = listed_day()
    r = post_file(api, csv_bytes(mixed_rows(day)))
    assert r.status_code == 201, r.content
    body = r.json()
    assert {k: body[k] for k in ("rows", "matched", "unmatched")} == {
        "rows": 4,
        "matched": 2,
        "unmatched": 2,
    }
    assert OfficialListImport.objects.get().pk == body["id"]
    masked = id_number(seq=203)[:6] + "********" + id_number(seq=203)[-4:]
    assert body["unmatched_rows"][0] == {
        "row": 4,
        "name": "孙*码",
        "id_number": masked,
        "kind": "suspected",
        "listed_on": day.isoformat(),
    }
    assert id_number(seq=203) not in r.content.decode()
    assert {HealthCode.objects.get(pk=c.pk).color for c in two_codes} == {"red"}


def test_it_answers_400_with_every_bad_row_and_imports_nothing(api, two_codes):
    """Bad rows → 400 {"errors": {"file": [...]}, "rows": [{row, errors}]}; nothing stored."""
    day = listed_day().isoformat()
    rows = [
        ("赵小刚", id_number(seq=201), "确诊病例", day, ""),
        ("钱多多", id_number(seq=202)[:-1] + "X", "确诊病例", day, ""),
        ("孙某某", id_number(seq=203), "未知", day, ""),
    ]
    r = post_file(api, csv_bytes(rows))
    assert r.status_code == 400
    body = r.json()
    assert "有 2 行有误" in body["errors"]["file"][0]
    assert [(row["row"], sorted(row["errors"])) for row in body["rows"]] == [
        (3, ["id_number"]),
        (4, ["kind"]),
    ]
    assert not OfficialListImport.objects.exists()
    assert {HealthCode.objects.get(pk=c.pk).color for c in two_codes} == {"green"}


def test_it_refuses_the_same_file_twice_and_a_missing_file(api, two_codes):
    """The same bytes twice → 400 naming the earlier batch; no file → 400 on "file"."""
    content = csv_bytes(mixed_rows(listed_day()))
    assert post_file(api, content).status_code == 201
    r = post_file(api, content, name="again.csv")
    assert r.status_code == 400
    assert "不能重复导入" in r.json()["errors"]["file"][0] and r.json()["rows"] == []
    r = api.client.post(BASE, data={}, **api.headers)
    assert r.status_code == 400 and "file" in r.json()["errors"]
    assert OfficialListImport.objects.count() == 1


def test_it_answers_messages_in_english(city_admin, two_codes):
    """Accept-Language: en gives the row reasons in English (once translated) — and always
    the same shape."""
    api = AdminApiClient(city_admin, language="en")
    rows = [("赵小刚", "123", "确诊病例", listed_day().isoformat(), "")]
    r = post_file(api, csv_bytes(rows))
    assert r.status_code == 400 and r.json()["rows"][0]["row"] == 2


def test_it_lists_batches_and_shows_one_with_its_entries(api, two_codes):
    """GET /official-lists: newest first with counts; GET /official-lists/{id}: entries
    masked, with the matched code's id, filtered by state and paged."""
    first = post_file(api, csv_bytes(mixed_rows(listed_day(3)))).json()["id"]
    second = post_file(api, csv_bytes(mixed_rows(listed_day(2)))).json()["id"]
    r = api.get("/admin/official-lists")
    assert r.status_code == 200
    assert [b["id"] for b in r.json()] == [second, first]
    assert r.json()[0]["rows"] == 4 and r.json()[0]["imported_by"] == "138****0108"
    detail = api.get(f"/admin/official-lists/{first}").json()
    assert detail["entries_total"] == 4
    entries = detail["entries"]
    assert [e["name"] for e in entries] == ["赵*刚", "钱*多", "孙*码", "李*申"]
    assert entries[0]["code"] == str(two_codes[0].public_id) and entries[2]["code"] is None
    assert entries[0]["kind"] == "confirmed" and entries[0]["kind_name"] == "确诊病例"
    assert id_number(seq=201) not in str(detail)
    matched = api.get(f"/admin/official-lists/{first}?state=matched").json()
    assert matched["entries_total"] == 2
    page = api.get(f"/admin/official-lists/{first}?offset=1&limit=2").json()
    assert [e["name"] for e in page["entries"]] == ["钱*多", "孙*码"]
    assert api.get(f"/admin/official-lists/{first}?limit=5000").status_code == 400
    assert api.get("/admin/official-lists/999999").status_code == 404


def test_it_withdraws_an_entry(api, two_codes):
    """POST …/entries/{id}/withdraw: 200 the entry withdrawn, the code re-derived; again →
    400 already_withdrawn; unknown entry → 404."""
    post_file(api, csv_bytes(mixed_rows(listed_day())))
    entry = OfficialListEntry.objects.get(code=two_codes[0])
    r = api.post(f"/admin/official-lists/entries/{entry.pk}/withdraw", {"reason": "误报"})
    assert r.status_code == 200
    assert r.json()["withdrawn_at"] is not None and r.json()["id"] == entry.pk
    assert HealthCode.objects.get(pk=two_codes[0].pk).color == "green"
    r = api.post(f"/admin/official-lists/entries/{entry.pk}/withdraw", {})
    assert r.status_code == 400 and r.json()["error"] == "already_withdrawn"
    assert api.post("/admin/official-lists/entries/999999/withdraw", {}).status_code == 404
    withdrawn = api.get(f"/admin/official-lists/{entry.batch_id}?state=withdrawn").json()
    assert [e["id"] for e in withdrawn["entries"]] == [entry.pk]


def test_it_withdraws_without_a_body(api, two_codes):
    """The reason is optional: an empty POST withdraws too."""
    post_file(api, csv_bytes(mixed_rows(listed_day())))
    entry = OfficialListEntry.objects.get(code=two_codes[1])
    r = api.client.post(
        f"{BASE}/entries/{entry.pk}/withdraw", content_type="application/json", **api.headers
    )
    assert r.status_code == 200


def test_it_serves_the_templates(api):
    """XLSX (a workbook with the headers) and CSV (UTF-8 with BOM) templates."""
    from openpyxl import load_workbook

    r = api.get("/admin/official-lists/template?format=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["姓名", "身份证号", "类别", "列入日期（YYYY-MM-DD）"]
    r = api.get("/admin/official-lists/template?format=csv")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in r["Content-Disposition"]
    assert api.get("/admin/official-lists/template?format=pdf").status_code == 400
