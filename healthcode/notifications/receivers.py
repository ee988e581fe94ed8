"""Colour changes and reviews become messages to the account holder. Connected in
`NotificationsConfig.ready()` to the post_save of the codes app's models, so the codes app
needs no knowledge of notifications."""

from __future__ import annotations

from typing import Any

from healthcode.codes import rules
from healthcode.codes.choices import ChangeCause, ReviewOutcome
from healthcode.codes.models import ColorChange, HealthCode, Review
from healthcode.lib.masking import mask_name
from healthcode.notifications.choices import NotificationKind
from healthcode.notifications.services import notify, notify_many

# Why the colour changed, in both languages (the message is stored in both).
CAUSES = {
    ChangeCause.DECLARATION: ("更正申报", "a corrected declaration"),
    ChangeCause.CHECKIN: ("健康打卡", "a daily check-in"),
    ChangeCause.SWEEP: ("观察期满自动转换", "the end of an observation period"),
    ChangeCause.REVIEW: ("审核", "a review"),
    ChangeCause.RULE_SET: ("防控规则更新", "an update of the rules"),
    ChangeCause.MANUAL: ("工作人员人工赋码", "a decision of the authorities"),
    ChangeCause.OFFICIAL_LIST: ("卫健部门官方名单", "an official list of the health authorities"),
}

# Changes that already come with their own SMS (the review outcome; the manual-colour SMS of
# codes/reviews.py) get only the in-app message, so one event sends one SMS.
NO_SMS_CAUSES = {ChangeCause.REVIEW, ChangeCause.MANUAL}


def _color_change_message(change: ColorChange, code: HealthCode) -> dict[str, Any] | None:
    """The message telling the account holder of a new colour for an existing code (not the
    first colour at declaration, not a change of reasons only), as notify's keywords."""
    if not change.color_from or change.color_from == change.color_to:
        return None
    name = mask_name(code.name)
    cause_zh, cause_en = CAUSES.get(change.cause, ("规则判定", "the rules"))
    to_zh, to_en = rules.COLOR_ZH[change.color_to], rules.COLOR_EN[change.color_to]
    from_zh, from_en = rules.COLOR_ZH[change.color_from], rules.COLOR_EN[change.color_from]
    return {
        "user": code.account,
        "code": code,
        "kind": NotificationKind.COLOR_CHANGE,
        "title_zh": f"{name}的健康码已变为{to_zh}",
        "body_zh": (
            f"因{cause_zh}，{name}的健康码由{from_zh}变为{to_zh}。"
            "请在健康码页面查看原因和转为绿码的条件。"
        ),
        "title_en": f"{name}'s health code is now a {to_en}",
        "body_en": (
            f"Following {cause_en}, {name}'s health code changed from a {from_en} to a {to_en}. "
            "The code's page shows why and what turns it green."
        ),
        "sms": change.cause not in NO_SMS_CAUSES,
    }


def on_color_change(
    sender: Any, instance: ColorChange, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new colour for an existing code is told to the account holder."""
    if raw or not created:
        return
    message = _color_change_message(instance, instance.code)
    if message is not None:
        notify(**message)


def on_colors_changed(sender: Any, changes: list[ColorChange], **kwargs: Any) -> None:
    """The same for the many colour changes of a batch (the sweep, a re-derivation after a
    rule-set change): the codes read in one query, the messages written in bulk."""
    told = [c for c in changes if c.color_from and c.color_from != c.color_to]
    if not told:
        return
    codes = HealthCode.objects.select_related("account").in_bulk({c.code_id for c in told})
    messages = [_color_change_message(change, codes[change.code_id]) for change in told]
    notify_many([m for m in messages if m is not None])


def on_review(
    sender: Any, instance: Review, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A reviewer's decision on a code is told to the account holder, with the reviewer's
    note when the review was refused."""
    if raw or not created:
        return
    code = instance.code
    name = mask_name(code.name)
    if instance.outcome == ReviewOutcome.APPROVE:
        title_zh, title_en = f"{name}的健康码审核通过", f"{name}'s health code was approved"
        body_zh = (
            f"{name}的健康码已审核通过，满足条件时将自动转为绿码。请在健康码页面查看当前颜色。"
        )
        body_en = (
            f"{name}'s health code was approved on review; it turns green once the conditions "
            "are met. The code's page shows its current colour."
        )
    else:
        note = instance.note.strip().rstrip("。.")
        title_zh, title_en = f"{name}的健康码审核未通过", f"{name}'s health code was not approved"
        body_zh = f"{name}的健康码审核未通过，理由：{note}。如有异议，可在健康码页面提出申诉。"
        body_en = (
            f"{name}'s health code was not approved on review. Reason: {note}. "
            "You may appeal from the code's page."
        )
    notify(
        user=code.account,
        code=code,
        kind=NotificationKind.REVIEW_OUTCOME,
        title_zh=title_zh,
        body_zh=body_zh,
        title_en=title_en,
        body_en=body_en,
    )
