"""Appeals (申诉): a resident contests the colour of a code they hold, or a dishonesty record
(失信记录) about it, with text and images. Each appeal is assigned to an authority of the
code's district, has a deadline, and its outcome goes through the review service
(healthcode.codes.reviews) or the credit service — never written here directly."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.appeals.choices import AppealStatus, AppealSubject

TEXT_MAX = 2000
NOTE_MAX = 500


class Appeal(models.Model):
    """One appeal of the holder of a code. `dishonesty_record_id` is a plain integer (the
    credit app's record) so that this app does not depend on the credit app's tables."""

    code = models.ForeignKey("codes.HealthCode", on_delete=models.CASCADE, related_name="appeals")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appeals"
    )
    subject = models.CharField(_("申诉事项"), max_length=20, choices=AppealSubject.choices)
    dishonesty_record_id = models.PositiveBigIntegerField(null=True, blank=True)
    text = models.TextField(_("申诉理由"), max_length=TEXT_MAX)
    status = models.CharField(
        _("状态"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.SUBMITTED
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deadline = models.DateTimeField(_("处理期限"))
    outcome_note = models.CharField(_("处理意见"), max_length=NOTE_MAX, blank=True)
    # What the decision did to the code or record (e.g. the review's result), for the record.
    outcome_detail = models.JSONField(default=dict, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    review_started_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("申诉")
        verbose_name_plural = _("申诉")
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["status", "deadline"])]
        constraints = [
            # One open appeal per code and subject (and record): the database says so too.
            models.UniqueConstraint(
                fields=["code", "subject"],
                condition=Q(status__in=["submitted", "in_review"], dishonesty_record_id__isnull=True),
                name="one_open_appeal_per_code_subject",
            ),
            models.UniqueConstraint(
                fields=["code", "subject", "dishonesty_record_id"],
                condition=Q(status__in=["submitted", "in_review"]),
                name="one_open_appeal_per_record",
            ),
        ]

    def __str__(self) -> str:
        return f"appeal {self.pk} {self.subject} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (AppealStatus.SUBMITTED, AppealStatus.IN_REVIEW)


class AppealAttachment(models.Model):
    """An image attached to an appeal, stored outside any public folder (served only through
    views that check the caller's scope). `number` is its place in the appeal (1, 2, …)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="attachments")
    number = models.PositiveSmallIntegerField()
    stored_name = models.CharField(max_length=100, unique=True)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["appeal", "number"]
        constraints = [
            models.UniqueConstraint(fields=["appeal", "number"], name="one_attachment_number")
        ]

    def __str__(self) -> str:
        return f"attachment {self.number} of appeal {self.appeal_id}"
