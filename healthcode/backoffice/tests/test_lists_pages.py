"""The official-list pages: /backoffice/lists (upload, result, per-row errors, batches),
/backoffice/lists/<id> (entries, withdraw) and the template downloads."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from healthcode.codes.models import HealthCode, OfficialListEntry, OfficialListImport
from healthcode.codes.tests.test_official_lists import (
    csv_bytes,
    listed_day,
    mixed_rows,
    person,
)
from healthcode.testing import backoffice_client, id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_codes(db):
    return person("13900000201", 201, "赵小刚"), person("13900000202", 202, "钱多多")


@pytest.fixture
def page(city_admin):
    return backoffice_client(city_admin)


def upload(client, content: bytes, name: str = "list.csv"):
    return client.post("/backoffice/lists", {"file": SimpleUploadedFile(name, content)})


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)<', html, re.S)
    assert match, element_id
    return match.group(1).strip()


def test_it_shows_the_upload_form_and_templates(page):
    """The page has the file input, the import button and both template links."""
    html = page.get("/backoffice/lists").content.decode()
    for element in ("id_file", "import-list", "list-template-xlsx", "list-template-csv"):
        assert f'id="{element}"' in html
    assert 'id="no-batches"' in html


def test_it_imports_and_shows_the_result(page, two_codes):
    """Upload → #list-result with the matched and unmatched counts and the unmatched rows
    masked; the batch is listed; the codes are red."""
    r = upload(page, csv_bytes(mixed_rows(listed_day())))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="list-result"' in html and 'id="list-errors"' not in html
    assert text_of(html, "list-matched") == "2" and text_of(html, "list-unmatched") == "2"
    assert 'id="list-unmatched-rows"' in html and "孙*码" in html and "疑似病例" in html
    assert id_number(seq=203) not in html
    batch = OfficialListImport.objects.get()
    assert f'id="batch-{batch.pk}"' in html
    assert {HealthCode.objects.get(pk=c.pk).color for c in two_codes} == {"red"}


def test_it_shows_every_bad_row_and_imports_nothing(page, two_codes):
    """Bad rows → 400 with #list-file-errors and #list-errors (row, column, reason)."""
    day = listed_day().isoformat()
    rows = [
        ("赵小刚", id_number(seq=201), "确诊病例", day, ""),
        ("赵小刚", id_number(seq=201), "确诊病例", day, ""),
        ("钱多多", id_number(seq=202), "确诊病例", "2999-01-01", ""),
    ]
    r = upload(page, csv_bytes(rows))
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="list-errors"' in html and 'id="list-result"' not in html
    assert 'data-row="3"' in html and 'data-row="4"' in html and 'data-row="2"' not in html
    assert "与第 2 行重复" in html and "不能晚于今天" in html and "列入日期" in html
    assert not OfficialListImport.objects.exists()


def test_it_says_when_no_file_was_chosen_or_the_file_was_imported(page, two_codes):
    """No file → 400 with a message; the same file again → 400 naming the earlier batch."""
    r = page.post("/backoffice/lists", {})
    assert r.status_code == 400 and "请选择要上传" in r.content.decode()
    content = csv_bytes(mixed_rows(listed_day()))
    assert upload(page, content).status_code == 200
    r = upload(page, content)
    assert r.status_code == 400 and "不能重复导入" in r.content.decode()


def test_it_shows_a_batch_and_withdraws_an_entry(page, two_codes):
    """The batch page lists the entries masked with a withdraw form; withdrawing re-derives
    the code and shows the entry as withdrawn; a second withdrawal says so."""
    upload(page, csv_bytes(mixed_rows(listed_day())))
    batch = OfficialListImport.objects.get()
    html = page.get(f"/backoffice/lists/{batch.pk}").content.decode()
    assert 'id="list-entries"' in html and "赵*刚" in html and "赵小刚" not in html
    entry = OfficialListEntry.objects.get(code=two_codes[0])
    assert f'id="withdraw-{entry.pk}"' in html
    r = page.post(f"/backoffice/lists/entries/{entry.pk}/withdraw", {"reason": "误报"}, follow=True)
    html = r.content.decode()
    assert r.status_code == 200 and f'id="withdrawn-{entry.pk}"' in html
    assert f'id="withdraw-{entry.pk}"' not in html
    assert HealthCode.objects.get(pk=two_codes[0].pk).color == "green"
    r = page.post(f"/backoffice/lists/entries/{entry.pk}/withdraw", {}, follow=True)
    assert "已于" in r.content.decode() and "撤销" in r.content.decode()
    unmatched = page.get(f"/backoffice/lists/{batch.pk}?state=unmatched").content.decode()
    assert "孙*码" in unmatched and "钱*多" not in unmatched
    assert page.get("/backoffice/lists/999999").status_code == 404
    assert page.post("/backoffice/lists/entries/999999/withdraw").status_code == 404


def test_it_downloads_the_templates(page):
    """Both template formats download as attachments."""
    r = page.get("/backoffice/lists/template?format=csv")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    r = page.get("/backoffice/lists/template")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml")
