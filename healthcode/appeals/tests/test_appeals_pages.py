"""Appeals through the pages: the resident's form and list, the back office's queue and
decision."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from healthcode.appeals.models import Appeal
from healthcode.appeals.tests.conftest import png_bytes
from healthcode.codes.models import Review
from healthcode.testing import backoffice_client


def test_it_submits_and_follows_an_appeal_on_the_pages(appellant, fever_code, reviewer):
    """The resident fills the form with an image, sees the appeal in the list with its
    deadline; the reviewer finds it in the queue, upholds it; the resident sees the outcome."""
    client = Client()
    client.force_login(appellant)
    form = client.get(f"/appeals/new?code={fever_code.public_id}").content.decode()
    for element in ('id="id_text"', 'id="id_attachments"', 'id="submit-appeal"'):
        assert element in form
    r = client.post(
        f"/appeals/new?code={fever_code.public_id}",
        {
            "subject": "color",
            "text": "体温计坏了。",
            "attachments": [SimpleUploadedFile("p.png", png_bytes())],
        },
    )
    appeal = Appeal.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/appeals/{appeal.pk}"
    listing = client.get("/appeals/").content.decode()
    assert 'id="appeals"' in listing and f'id="appeal-{appeal.pk}"' in listing

    staff = backoffice_client(reviewer)
    queue = staff.get("/appeals/queue").content.decode()
    assert 'id="appeal-queue"' in queue and f'id="appeal-{appeal.pk}"' in queue
    page = staff.get(f"/appeals/queue/{appeal.pk}").content.decode()
    for element in ('id="note"', 'id="uphold"', 'id="dismiss"', 'id="attachment-1"'):
        assert element in page
    r = staff.post(f"/appeals/queue/{appeal.pk}", {"action": "uphold", "note": "已核实。"})
    assert r.status_code == 302
    fever_code.refresh_from_db()
    assert fever_code.color == "green"
    assert Review.objects.get(code=fever_code).note == "已核实。"
    detail = client.get(f"/appeals/{appeal.pk}").content.decode()
    assert 'data-status="upheld"' in detail and "已核实。" in detail


def test_it_shows_errors_on_the_form(appellant, fever_code):
    """A non-image attachment → 400 with the rule next to the field; nothing saved."""
    client = Client()
    client.force_login(appellant)
    r = client.post(
        f"/appeals/new?code={fever_code.public_id}",
        {
            "subject": "color",
            "text": "有误。",
            "attachments": [SimpleUploadedFile("x.png", b"not an image")],
        },
    )
    assert r.status_code == 400
    assert "JPEG、PNG 或 WebP" in r.content.decode()
    assert not Appeal.objects.exists()


def test_it_needs_a_note_on_the_decision_page(appellant, fever_code, reviewer):
    """Deciding without a note shows the rule and changes nothing."""
    client = Client()
    client.force_login(appellant)
    client.post(f"/appeals/new?code={fever_code.public_id}", {"subject": "color", "text": "有误。"})
    appeal = Appeal.objects.get()
    r = backoffice_client(reviewer).post(f"/appeals/queue/{appeal.pk}", {"action": "dismiss"})
    assert r.status_code == 400
    assert "处理意见" in r.content.decode()
    appeal.refresh_from_db()
    assert appeal.status == "submitted"
