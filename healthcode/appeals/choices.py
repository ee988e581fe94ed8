"""Choices of the appeals app."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppealSubject(models.TextChoices):
    COLOR = "color", _("健康码颜色")
    DISHONESTY_RECORD = "dishonesty_record", _("失信记录")


class AppealStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    IN_REVIEW = "in_review", _("处理中")
    UPHELD = "upheld", _("申诉成立")
    DISMISSED = "dismissed", _("申诉不成立")


OPEN_STATUSES = (AppealStatus.SUBMITTED, AppealStatus.IN_REVIEW)
