"""Daily health check-ins (健康打卡): one per code per day; a later submission the same
day amends it and the earlier values are kept as revisions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.checkins.choices import CheckInSource


class CheckIn(models.Model):
    """The check-in of one code on one day (Asia/Shanghai), in its latest revision."""

    code = models.ForeignKey("codes.HealthCode", on_delete=models.CASCADE, related_name="checkins")
    day = models.DateField(_("日期"))
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1)
    symptoms = models.JSONField(_("症状"), default=list, blank=True)
    in_nanning = models.BooleanField(_("今日是否在邕"))
    new_contact = models.BooleanField(_("是否新增接触"))
    source = models.CharField(max_length=16, choices=CheckInSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revision = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("健康打卡")
        verbose_name_plural = _("健康打卡")
        constraints = [models.UniqueConstraint(fields=["code", "day"], name="one_checkin_per_day")]
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"check-in {self.code_id} {self.day} {self.temperature}"

    @property
    def symptom_labels(self) -> list[str]:
        from healthcode.codes.choices import Symptom

        return [str(Symptom(s).label) if s in Symptom.values else s for s in self.symptoms]


class CheckInRevision(models.Model):
    """An earlier version of a check-in, kept when the same day's check-in is amended."""

    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveSmallIntegerField()
    temperature = models.DecimalField(max_digits=3, decimal_places=1)
    symptoms = models.JSONField(default=list)
    in_nanning = models.BooleanField()
    new_contact = models.BooleanField()
    source = models.CharField(max_length=16, choices=CheckInSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["revision"]

    def __str__(self) -> str:
        return f"revision {self.revision} of check-in {self.checkin_id}"
