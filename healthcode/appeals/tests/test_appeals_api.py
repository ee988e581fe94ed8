"""Appeals through the API: submitting with images, the attachment rules, assignment and
deadline, decisions through the review service, and scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from healthcode.appeals import services
from healthcode.appeals.models import Appeal, AppealAttachment
from healthcode.appeals.tests.conftest import admin, png_bytes
from healthcode.audit.models import AuditRecord
from healthcode.codes.models import Review
from healthcode.testing import AdminApiClient, ApiClient


def post_appeal(user, code, *, files=(), **fields):
    api = ApiClient(user)
    data = {"subject": "color", "text": "我没有发烧，是体温计坏了。", **fields}
    if files:
        data["attachments"] = list(files)
    return api.client.post(f"/api/v1/codes/{code.public_id}/appeals", data=data, **api.headers)


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def test_it_submits_an_appeal_with_images(appellant, fever_code, reviewer, appeals_dir):
    """A holder appeals the colour of their code with two images: 201, stored privately with
    their size and digest, assigned to the district's reviewer, deadline in 7 days, audited."""
    r = post_appeal(appellant, fever_code, files=[png("a.png"), png("b.png")])
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "submitted" and body["subject"] == "color"
    assert [a["number"] for a in body["attachments"]] == [1, 2]
    appeal = Appeal.objects.get(pk=body["id"])
    assert appeal.assigned_to == reviewer
    assert appeal.deadline - appeal.submitted_at == timedelta(days=7)
    stored = AppealAttachment.objects.filter(appeal=appeal)
    assert {a.content_type for a in stored} == {"image/png"}
    for a in stored:
        path = services.attachment_path(a)
        assert path.parent == appeals_dir and path.read_bytes() == png_bytes()
    assert AuditRecord.objects.filter(action="appeal_submit", actor=appellant).exists()


def test_it_reads_the_deadline_from_settings(appellant, fever_code, settings):
    """HEALTHCODE_APPEAL_DAYS sets the deadline."""
    settings.HEALTHCODE_APPEAL_DAYS = 3
    r = post_appeal(appellant, fever_code)
    appeal = Appeal.objects.get(pk=r.json()["id"])
    assert appeal.deadline - appeal.submitted_at == timedelta(days=3)


@pytest.mark.parametrize(
    "files",
    [
        [SimpleUploadedFile("fake.png", b"MZ\x90\x00 not an image", content_type="image/png")],
        [png(), SimpleUploadedFile("doc.png", b"%PDF-1.4 ...", content_type="image/png")],
        [SimpleUploadedFile("big.png", png_bytes() + b"\x00" * (5 * 1024 * 1024))],
        [png(f"{n}.png") for n in range(6)],
    ],
    ids=["non-image", "one-bad-of-two", "over-5MB", "six-files"],
)
def test_it_refuses_bad_attachments_naming_the_field(appellant, fever_code, files, appeals_dir):
    """A non-image renamed .png, an image over 5 MB or more than 5 files → 400 naming
    "attachments" with the rule; nothing is saved, no file is left behind."""
    r = post_appeal(appellant, fever_code, files=files)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert list(errors) == ["attachments"] and errors["attachments"][0].endswith("。")
    assert not Appeal.objects.exists()
    assert not appeals_dir.exists() or not any(appeals_dir.iterdir())


def test_it_accepts_jpeg_and_webp_by_their_bytes(appellant, fever_code):
    """JPEG and WebP are recognised by magic bytes whatever the name says."""
    jpeg = SimpleUploadedFile("x.bin", b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    webp = SimpleUploadedFile("y.txt", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8)
    r = post_appeal(appellant, fever_code, files=[jpeg, webp])
    assert r.status_code == 201, r.content
    assert [a["content_type"] for a in r.json()["attachments"]] == ["image/jpeg", "image/webp"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "  "}, "text"),
        ({"text": "长" * 2001}, "text"),
        ({"subject": "weather"}, "subject"),
        ({"subject": "dishonesty_record"}, "record_id"),
    ],
)
def test_it_refuses_bad_fields(appellant, fever_code, fields, field):
    """Empty or too long text, an unknown subject, a record appeal without a record → 400
    naming the field."""
    r = post_appeal(appellant, fever_code, **fields)
    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert not Appeal.objects.exists()


def test_it_does_not_know_another_accounts_code(resident, fever_code):
    """Appealing a code of another account → 404, nothing saved."""
    r = post_appeal(resident, fever_code, files=[png()])
    assert r.status_code == 404
    assert not Appeal.objects.exists()


def test_it_allows_one_open_appeal_per_code_and_subject(appellant, fever_code, record):
    """A second open appeal on the same colour → 409; a record appeal is another matter."""
    assert post_appeal(appellant, fever_code).status_code == 201
    r = post_appeal(appellant, fever_code)
    assert r.status_code == 409 and r.json()["error"] == "appeal_open"
    r = post_appeal(appellant, fever_code, subject="dishonesty_record", record_id=record.pk)
    assert r.status_code == 201
    assert r.json()["record_id"] == record.pk
    r = post_appeal(appellant, fever_code, subject="dishonesty_record", record_id=record.pk)
    assert r.status_code == 409


def test_it_does_not_know_another_codes_record(appellant, fever_code, record, resident):
    """A record of another code (or none) → 404, nothing saved."""
    code = resident.health_codes.get()
    r = post_appeal(resident, code, subject="dishonesty_record", record_id=record.pk)
    assert r.status_code == 404
    r = post_appeal(appellant, fever_code, subject="dishonesty_record", record_id=99999)
    assert r.status_code == 404
    assert not Appeal.objects.exists()


def test_it_assigns_to_the_least_busy_reviewer_else_an_admin_else_the_city(
    appellant, fever_code, reviewer, second_reviewer, district_admin
):
    """The reviewer of the district with the fewest open appeals gets the next one; without
    reviewers a district admin; without either, the city queue (nobody)."""
    first = services.choose_assignee(fever_code)
    assert first == reviewer
    post_appeal(appellant, fever_code)
    assert Appeal.objects.get().assigned_to == reviewer
    assert services.choose_assignee(fever_code) == second_reviewer
    reviewer.admin_roles.update(revoked_at="2020-01-01T00:00:00Z")
    second_reviewer.admin_roles.update(revoked_at="2020-01-01T00:00:00Z")
    assert services.choose_assignee(fever_code) == district_admin
    district_admin.admin_roles.update(revoked_at="2020-01-01T00:00:00Z")
    assert services.choose_assignee(fever_code) is None


def test_it_lists_and_shows_only_my_appeals(appellant, fever_code, resident):
    """GET /appeals lists the caller's; another's appeal → 404."""
    appeal_id = post_appeal(appellant, fever_code).json()["id"]
    mine = ApiClient(appellant).get("/appeals").json()
    assert [a["id"] for a in mine["results"]] == [appeal_id]
    assert ApiClient(appellant).get(f"/appeals/{appeal_id}").status_code == 200
    assert ApiClient(resident).get("/appeals").json()["count"] == 0
    assert ApiClient(resident).get(f"/appeals/{appeal_id}").status_code == 404
    assert ApiClient(appellant).get("/appeals/nonsense").status_code == 404


def test_it_upholds_a_colour_appeal_through_the_review_service(
    appellant, fever_code, reviewer
):
    """An upheld colour appeal approves the code through review_code: the yellow-after-fever
    code turns green, a Review row carries the note, the appeal is upheld and audited."""
    appeal_id = post_appeal(appellant, fever_code).json()["id"]
    r = AdminApiClient(reviewer).post(
        f"/admin/appeals/{appeal_id}/decision", {"upheld": True, "note": "体温计故障，已核实。"}
    )
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "upheld"
    fever_code.refresh_from_db()
    assert fever_code.color == "green"
    review = Review.objects.get(code=fever_code)
    assert review.outcome == "approve" and review.note == "体温计故障，已核实。"
    assert review.reviewer == reviewer
    record = AuditRecord.objects.get(action="appeal_decision")
    assert record.detail["upheld"] is True and record.actor == reviewer
    mine = ApiClient(appellant).get(f"/appeals/{appeal_id}").json()
    assert mine["status"] == "upheld" and mine["outcome_note"] == "体温计故障，已核实。"


def test_it_dismisses_a_colour_appeal_and_keeps_the_colour(appellant, fever_code, reviewer):
    """A dismissed appeal keeps the code yellow and records a refusal with the note."""
    appeal_id = post_appeal(appellant, fever_code).json()["id"]
    r = AdminApiClient(reviewer).post(
        f"/admin/appeals/{appeal_id}/decision", {"upheld": False, "note": "申报发热属实。"}
    )
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    fever_code.refresh_from_db()
    assert fever_code.color == "yellow"
    assert Review.objects.get(code=fever_code).outcome == "refuse"


def test_it_needs_a_note_and_decides_once(appellant, fever_code, reviewer):
    """No note → 400 naming "note", nothing changes; a decided appeal → 409."""
    appeal_id = post_appeal(appellant, fever_code).json()["id"]
    api = AdminApiClient(reviewer)
    r = api.post(f"/admin/appeals/{appeal_id}/decision", {"upheld": True, "note": " "})
    assert r.status_code == 400 and "note" in r.json()["errors"]
    assert Appeal.objects.get().status == "submitted"
    assert not Review.objects.exists()
    api.post(f"/admin/appeals/{appeal_id}/decision", {"upheld": False, "note": "属实。"})
    r = api.post(f"/admin/appeals/{appeal_id}/decision", {"upheld": True, "note": "再议。"})
    assert r.status_code == 409


def test_it_surfaces_the_review_services_refusal(appellant, reviewer):
    """Upholding a colour appeal on a code that is green (nothing to review) → the review
    service's 404, and the appeal stays open."""
    from healthcode.codes import services as code_services
    from healthcode.testing import declaration, id_number

    code = code_services.declare(
        account=appellant, data=declaration(name="蒙小绿", id_number=id_number(seq=502))
    )
    appeal_id = post_appeal(appellant, code).json()["id"]
    r = AdminApiClient(reviewer).post(
        f"/admin/appeals/{appeal_id}/decision", {"upheld": True, "note": "通过。"}
    )
    assert r.status_code == 404
    assert Appeal.objects.get().status == "submitted"


@pytest.mark.parametrize(("upheld", "status"), [(True, "overturned"), (False, "final")])
def test_it_rules_on_a_record_through_the_credit_service(
    appellant, fever_code, reviewer, record, upheld, status
):
    """Filing marks the record's appeal pending; an upheld APPEAL overturns the record, a
    dismissed one makes it final — through the credit service, in the appeal's transaction."""
    r = post_appeal(appellant, fever_code, subject="dishonesty_record", record_id=record.pk)
    appeal_id = r.json()["id"]
    record.refresh_from_db()
    assert record.appeal_pending is True
    r = AdminApiClient(reviewer).post(
        f"/admin/appeals/{appeal_id}/decision", {"upheld": upheld, "note": "经核实。"}
    )
    assert r.status_code == 200, r.content
    assert r.json()["status"] == ("upheld" if upheld else "dismissed")
    record.refresh_from_db()
    assert record.status == status and record.appeal_pending is False
    fever_code.refresh_from_db()
    assert fever_code.color == "yellow"  # a record appeal does not review the colour


def test_it_hides_appeals_outside_the_reviewers_district(
    appellant, fever_code, other_reviewer, other_district_admin
):
    """A reviewer or admin of another district: 404 on the appeal, its decision and its
    attachments; the list does not show it."""
    appeal_id = post_appeal(appellant, fever_code, files=[png()]).json()["id"]
    for user in (other_reviewer, other_district_admin):
        api = AdminApiClient(user)
        assert api.get("/admin/appeals").json()["count"] == 0
        assert api.get(f"/admin/appeals/{appeal_id}").status_code == 404
        assert api.get(f"/admin/appeals/{appeal_id}/attachments/1").status_code == 404
        r = api.post(f"/admin/appeals/{appeal_id}/decision", {"upheld": True, "note": "x"})
        assert r.status_code == 404
    assert Appeal.objects.get().status == "submitted"


def test_it_serves_attachments_only_in_scope_and_audits(appellant, fever_code, reviewer, resident):
    """The district's reviewer downloads the image (audited, not cached); another resident
    cannot by any URL (404 on the owner's page, 403 on the back office)."""
    appeal_id = post_appeal(appellant, fever_code, files=[png()]).json()["id"]
    r = AdminApiClient(reviewer).get(f"/admin/appeals/{appeal_id}/attachments/1")
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == png_bytes()
    assert r["Content-Type"] == "image/png" and "no-store" in r["Cache-Control"]
    assert AuditRecord.objects.filter(action="appeal_attachment_view", actor=reviewer).exists()
    assert AdminApiClient(reviewer).get(f"/admin/appeals/{appeal_id}/attachments/2").status_code == 404
    from django.test import Client

    other = Client()
    other.force_login(resident)
    assert other.get(f"/appeals/{appeal_id}/attachments/1").status_code == 404
    owner = Client()
    owner.force_login(appellant)
    assert owner.get(f"/appeals/{appeal_id}/attachments/1").status_code == 200


def test_it_takes_an_appeal_up(appellant, fever_code, reviewer):
    """Starting the review moves it to in_review (the resident sees it); twice is harmless."""
    appeal_id = post_appeal(appellant, fever_code).json()["id"]
    api = AdminApiClient(reviewer)
    assert api.post(f"/admin/appeals/{appeal_id}/start", {}).json()["status"] == "in_review"
    assert api.post(f"/admin/appeals/{appeal_id}/start", {}).status_code == 200
    assert ApiClient(appellant).get(f"/appeals/{appeal_id}").json()["status"] == "in_review"


def test_it_puts_unassignable_appeals_in_the_city_queue(appellant, fever_code, city_admin):
    """Without a reviewer or admin of the district, nobody is assigned; the city admin sees it
    and becomes its handler on taking it up."""
    appeal_id = post_appeal(appellant, fever_code).json()["id"]
    assert Appeal.objects.get().assigned_to is None
    api = AdminApiClient(city_admin)
    assert api.get("/admin/appeals?mine=false").json()["count"] == 1
    api.post(f"/admin/appeals/{appeal_id}/start", {})
    assert Appeal.objects.get().assigned_to == city_admin
    admin("13800000299", "reviewer", "450103")


def test_it_deletes_attachment_files_with_the_codes(appellant, fever_code, appeals_dir):
    """The privacy hook removes the files of appeals about deleted codes."""
    from healthcode.appeals.models import AppealAttachment
    from healthcode.appeals.privacy_hooks import forget_codes
    from healthcode.appeals.services import attachment_path

    r = post_appeal(appellant, fever_code, files=[png("a.png"), png("b.png")])
    assert r.status_code == 201, r.content
    paths = [attachment_path(a) for a in AppealAttachment.objects.all()]
    assert len(paths) == 2 and all(p.exists() for p in paths)
    assert forget_codes([fever_code.pk]) == {"appeal attachment files": 2}
    assert not any(p.exists() for p in paths)
