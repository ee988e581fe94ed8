"""The review pages (/backoffice/reviews, /backoffice/reviews/<id>, /backoffice/manual-requests):
the queue with checkboxes and bulk approval, one code with its facts and the review and
manual-colour forms, and the second official's confirmation — the same services as the API."""

from __future__ import annotations

import pytest

from healthcode.backoffice.tests.reviews_personas import *  # noqa: F403
from healthcode.backoffice.tests.reviews_personas import resident_code
from healthcode.codes.models import HealthCode, ManualColorRequest, Review
from healthcode.testing import backoffice_client

pytestmark = pytest.mark.django_db


def test_it_shows_the_queue_with_checkboxes_and_filters(reviewer, red_code):
    """Each code of the queue has a checkbox `codes`, a link to its page and its main reason;
    the bulk form has a note and approve/refuse buttons; filters keep their values."""
    page = backoffice_client(reviewer).get("/backoffice/reviews").content.decode()
    assert f'id="code-{red_code.public_id}"' in page
    assert f'name="codes" value="{red_code.public_id}"' in page
    assert f'href="/backoffice/reviews/{red_code.public_id}"' in page
    assert 'id="bulk-approve"' in page and 'id="bulk-note"' in page and 'id="bulk-refuse"' in page
    assert "钱*红" in page and "湖北" in page
    assert 'id="unmask"' in page

    filtered = backoffice_client(reviewer).get("/backoffice/reviews?color=yellow").content
    assert 'id="queue-empty"' in filtered.decode()
    bad = backoffice_client(reviewer).get("/backoffice/reviews?rule=nope").content.decode()
    assert 'class="errorlist"' in bad


def test_it_approves_checked_codes_in_bulk(reviewer, red_code):
    """Bulk approval of the checked codes: those whose conditions are met turn green, the
    others wait; a message says how many."""
    waiting = resident_code(410, days_ago=3)
    client = backoffice_client(reviewer)
    r = client.post(
        "/backoffice/reviews/bulk",
        {"codes": [str(red_code.public_id), str(waiting.public_id)], "outcome": "approve"},
        follow=True,
    )
    text = r.content.decode()
    assert "已审核通过 2 个健康码，其中 1 个已转为绿码" in text
    assert HealthCode.objects.get(pk=red_code.pk).color == "green"
    assert HealthCode.objects.get(pk=waiting.pk).color == "red"


def test_it_says_why_a_bulk_review_did_nothing(reviewer, red_code):
    """No code checked, a refusal without a note, or a code outside the queue: a message and
    nothing reviewed."""
    elsewhere = resident_code(411, days_ago=3, district="450102")
    client = backoffice_client(reviewer)
    r = client.post("/backoffice/reviews/bulk", {"outcome": "approve"}, follow=True)
    assert "请至少选择一个健康码" in r.content.decode()
    r = client.post(
        "/backoffice/reviews/bulk",
        {"codes": [str(red_code.public_id)], "outcome": "refuse"},
        follow=True,
    )
    assert "审核不通过时必须填写理由" in r.content.decode()
    r = client.post(
        "/backoffice/reviews/bulk",
        {"codes": [str(red_code.public_id), str(elsewhere.public_id)], "outcome": "approve"},
        follow=True,
    )
    assert str(elsewhere.public_id) in r.content.decode()
    assert not Review.objects.exists()


def test_it_shows_one_code_and_reviews_it(reviewer, red_code):
    """The code's page shows its reasons, path, facts, check-ins and history with the review
    form; refusing needs a note; approving turns it green and the form goes away."""
    client = backoffice_client(reviewer)
    url = f"/backoffice/reviews/{red_code.public_id}"
    page = client.get(url).content.decode()
    for element in ("reasons", "path", "facts", "checkins", "history", "approve", "refuse", "note"):
        assert f'id="{element}"' in page, element
    assert 'data-rule="return_region"' in page
    assert 'id="manual-color"' in page and 'id="id_reason_code"' in page
    assert 'value="epi_close_contact"' in page and 'id="request-manual"' in page

    r = client.post(f"{url}/decision", {"outcome": "refuse", "note": ""}, follow=True)
    assert "审核不通过时必须填写理由" in r.content.decode()
    r = client.post(f"{url}/decision", {"outcome": "approve", "note": "期满"}, follow=True)
    text = r.content.decode()
    assert "已审核通过，健康码已转为绿码" in text
    assert 'data-color="green"' in text and 'id="approve"' not in text


def test_it_requests_confirms_and_withdraws_manual_colours(
    reviewer, requester, green_code, sms_locmem, django_capture_on_commit_callbacks
):
    """The manual colour form files a request (a bad reason is refused with a message); the
    requester sees no confirm button for it and is refused four eyes; a second official
    confirms it on the manual-requests page and the code turns red with the reason."""
    mine = backoffice_client(requester)
    url = f"/backoffice/reviews/{green_code.public_id}/manual-color"
    r = mine.post(url, {"color": "yellow", "reason_code": "epi_close_contact"}, follow=True)
    assert "只能用于赋红码" in r.content.decode()
    r = mine.post(url, {"color": "red", "reason_code": "epi_close_contact"}, follow=True)
    text = r.content.decode()
    assert "须由另一名工作人员复核确认后生效" in text and 'id="manual-pending"' in text
    request = ManualColorRequest.objects.get()
    assert f'id="withdraw-{request.pk}"' in text

    assert (
        f'id="confirm-{request.pk}"' not in mine.get("/backoffice/manual-requests").content.decode()
    )
    r = mine.post(f"/backoffice/manual-requests/{request.pk}", {"decision": "approve"}, follow=True)
    assert "双人复核" in r.content.decode()

    other = backoffice_client(reviewer)
    page = other.get("/backoffice/manual-requests").content.decode()
    assert f'id="confirm-{request.pk}"' in page and f'id="reject-{request.pk}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        r = other.post(
            f"/backoffice/manual-requests/{request.pk}", {"decision": "approve"}, follow=True
        )
    assert "已复核确认" in r.content.decode()
    green_code.refresh_from_db()
    assert green_code.color == "red" and green_code.reasons[0]["rule"] == "manual"
    assert len(sms_locmem) == 1

    # Withdrawing: a new request, taken back by its requester.
    fresh = resident_code(412)
    mine.post(
        f"/backoffice/reviews/{fresh.public_id}/manual-color",
        {"color": "yellow", "reason_code": "fever_clinic"},
    )
    second = ManualColorRequest.objects.get(code=fresh)
    r = mine.post(f"/backoffice/manual-requests/{second.pk}/withdraw", follow=True)
    assert "已撤回" in r.content.decode()
    second.refresh_from_db()
    assert second.status == "withdrawn"
