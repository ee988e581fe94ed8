"""Sending notifications: the in-app message, the SMS after commit, and the hooks on colour
changes and reviews."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from healthcode.audit.models import AuditRecord
from healthcode.checkins.services import record_checkin
from healthcode.codes import reviews
from healthcode.codes import services as code_services
from healthcode.notifications.models import Notification
from healthcode.notifications.services import notify
from healthcode.testing import declaration, id_number

pytestmark = pytest.mark.django_db

FEVER = {"temperature": "38.5", "symptoms": ["fever"], "in_nanning": True, "new_contact": False}
WELL = {"temperature": "36.5", "symptoms": [], "in_nanning": True, "new_contact": False}


def _notify(user, **overrides):
    kwargs = dict(
        user=user,
        kind="other",
        title_zh="测试标题",
        body_zh="测试内容。",
        title_en="Test title",
        body_en="Test body.",
    )
    kwargs.update(overrides)
    return notify(**kwargs)


def test_it_creates_the_message_and_sends_one_sms(
    resident, sms_locmem, django_capture_on_commit_callbacks
):
    """notify() stores the message in both languages, audits it and, after commit, sends one
    SMS with the Chinese text to the account's phone."""
    with django_capture_on_commit_callbacks(execute=True):
        message = _notify(resident)
    message.refresh_from_db()
    assert message.recipient == resident
    assert (message.title, message.body) == ("测试标题", "测试内容。")
    assert (message.title_en, message.body_en) == ("Test title", "Test body.")
    assert message.read_at is None
    assert sms_locmem == [
        {
            "to": resident.phone,
            "text": "【爱南宁健康码】测试内容。",
            "sent_at": sms_locmem[0]["sent_at"],
        }
    ]
    assert AuditRecord.objects.filter(action="notification", subject_id=str(message.pk)).exists()


def test_it_sends_no_sms_when_asked_not_to(
    resident, sms_locmem, django_capture_on_commit_callbacks
):
    """sms=False writes only the in-app message."""
    with django_capture_on_commit_callbacks(execute=True):
        _notify(resident, sms=False)
    assert Notification.objects.filter(recipient=resident).count() == 1
    assert sms_locmem == []


def test_it_sends_nothing_when_the_callers_work_is_rolled_back(resident, sms_locmem):
    """The SMS waits for the commit: a rolled-back caller leaves neither message nor SMS."""
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            _notify(resident)
            raise RuntimeError("the caller fails")
    assert not Notification.objects.filter(recipient=resident).exists()
    assert sms_locmem == []


def test_it_never_fails_the_caller_when_the_sms_fails(
    resident, settings, caplog, django_capture_on_commit_callbacks
):
    """A backend that raises is logged (phone masked); the message stays."""
    settings.HEALTHCODE_SMS_BACKEND = "healthcode.notifications.tests.test_notify.BrokenBackend"
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        message = _notify(resident)
    assert Notification.objects.filter(pk=message.pk).exists()
    assert "notification SMS" in caplog.text
    assert resident.phone not in caplog.text


class BrokenBackend:
    def send(self, to: str, text: str) -> None:
        raise OSError("provider down")


def test_it_rejects_an_unknown_kind(resident):
    """Only the listed kinds are messages."""
    with pytest.raises(ValueError):
        _notify(resident, kind="appeal")


def test_it_texts_a_family_members_own_phone(
    resident, sms_locmem, django_capture_on_commit_callbacks
):
    """A message about a family member's code goes to the account's centre and by SMS to the
    phone declared for that family member."""
    family = code_services.declare(
        account=resident,
        data=declaration(name="孙奶奶", id_number=id_number(seq=777), phone="13700000777"),
    )
    assert family.relation == "family"
    with django_capture_on_commit_callbacks(execute=True):
        message = _notify(resident, code=family)
    assert message.recipient == resident
    assert [m["to"] for m in sms_locmem] == ["13700000777"]


def test_it_notifies_once_when_a_fever_check_in_turns_the_code_yellow(
    resident, sms_locmem, django_capture_on_commit_callbacks
):
    """A fever check-in turns the green code yellow: one colour-change message, one SMS; a
    second fever check-in the same day (still yellow) sends nothing more."""
    code = resident.health_codes.get()
    assert code.color == "green"
    with django_capture_on_commit_callbacks(execute=True):
        record_checkin(code=code, actor=resident, data=FEVER)
    code.refresh_from_db()
    assert code.color == "yellow"
    messages = list(Notification.objects.filter(recipient=resident))
    assert [(m.kind, m.code_id) for m in messages] == [("color_change", code.pk)]
    assert "黄码" in messages[0].title and "健康打卡" in messages[0].body
    assert "yellow code" in messages[0].title_en
    assert len(sms_locmem) == 1 and sms_locmem[0]["to"] == resident.phone
    assert "黄码" in sms_locmem[0]["text"]

    with django_capture_on_commit_callbacks(execute=True):
        record_checkin(code=code, actor=resident, data={**FEVER, "temperature": "38.9"})
    assert Notification.objects.filter(recipient=resident).count() == 1
    assert len(sms_locmem) == 1


def test_it_does_not_notify_the_first_colour_or_an_unchanged_one(
    resident, sms_locmem, django_capture_on_commit_callbacks
):
    """The colour given at declaration and a check-in that keeps the code green send nothing."""
    code = resident.health_codes.get()
    assert code.changes.count() == 1  # the declaration's own colour
    with django_capture_on_commit_callbacks(execute=True):
        record_checkin(code=code, actor=resident, data=WELL)
    assert not Notification.objects.filter(recipient=resident).exists()
    assert sms_locmem == []


def test_it_notifies_the_review_outcome(
    reviewer, red_code, sms_locmem, django_capture_on_commit_callbacks
):
    """An approval tells the holder the outcome by message and SMS; the resulting change to
    green is a second message without a second SMS (one event, one SMS)."""
    with django_capture_on_commit_callbacks(execute=True):
        reviews.review_code(reviewer=reviewer, code=red_code, outcome="approve")
    red_code.refresh_from_db()
    assert red_code.color == "green"
    kinds = sorted(
        Notification.objects.filter(recipient=red_code.account).values_list("kind", flat=True)
    )
    assert kinds == ["color_change", "review_outcome"]
    assert len(sms_locmem) == 1
    assert "审核通过" in sms_locmem[0]["text"]
    assert sms_locmem[0]["to"] == red_code.account.phone


def test_it_gives_the_refusal_reason(
    reviewer, red_code, sms_locmem, django_capture_on_commit_callbacks
):
    """A refusal carries the reviewer's note; the colour stays, so no colour message."""
    with django_capture_on_commit_callbacks(execute=True):
        reviews.review_code(
            reviewer=reviewer, code=red_code, outcome="refuse", note="未提供核酸检测证明。"
        )
    message = Notification.objects.get(recipient=red_code.account)
    assert message.kind == "review_outcome"
    assert "未提供核酸检测证明" in message.body
    assert len(sms_locmem) == 1
