"""Daily health check-ins (健康打卡): one per code per day; a later submission the same
day amends it and the earlier values are kept as revisions."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.checkins.choices import CheckInSource


class CheckIn(models.Model):
    """The check-in of one code on one day (Asia/Shanghai), in its latest revision.

    On PostgreSQL the table is partitioned by month of `day` (migration 0004,
    healthcode.lib.partitions): the database's primary key is (id, day) while Django's pk stays
    `id`, and `one_checkin_per_day` (code, day) holds across all partitions since it contains
    the partition key."""

    # No index of its own: the unique (code, day) index serves every lookup by code.
    code = models.ForeignKey(
        "codes.HealthCode", on_delete=models.CASCADE, related_name="checkins", db_index=False
    )
    day = models.DateField(_("日期"))
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1)
    symptoms = models.JSONField(_("症状"), default=list, blank=True)
    in_nanning = models.BooleanField(_("今日是否在邕"))
    new_contact = models.BooleanField(_("是否新增接触"))
    source = models.CharField(max_length=16, choices=CheckInSource.choices)
    # Mostly NULL (a resident's own check-in): indexed only where set (see Meta).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    revision = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("健康打卡")
        verbose_name_plural = _("健康打卡")
        constraints = [models.UniqueConstraint(fields=["code", "day"], name="one_checkin_per_day")]
        indexes = [
            # SET NULL when an account is deleted, and "recorded by" lookups.
            models.Index(
                fields=["recorded_by"], name="checkin_recorded_by_idx",
                condition=Q(recorded_by__isnull=False),
            ),
            # The check-ins that are not clean (fever, symptoms, a new contact): the batched
            # re-derivation reads these first (codes/bulk.py). It serves any fever threshold
            # above 37.0 °C (the default is 37.3); a lower one is still answered, without it.
            models.Index(
                fields=["code"], name="checkin_not_clean_idx",
                condition=Q(temperature__gte=Decimal("37.0")) | Q(new_contact=True) | ~Q(symptoms=[]),
            ),
        ]
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"check-in {self.code_id} {self.day} {self.temperature}"

    @property
    def symptom_labels(self) -> list[str]:
        from healthcode.codes.choices import Symptom

        return [str(Symptom(s).label) if s in Symptom.values else s for s in self.symptoms]


class CheckInRevision(models.Model):
    """An earlier version of a check-in, kept when the same day's check-in is amended."""

    # No database constraint: on PostgreSQL check-ins are partitioned by month and their key
    # there is (id, day), which a foreign key on `checkin_id` alone can't reference. Django
    # still applies the CASCADE when a check-in is deleted through the ORM, and dropping a
    # month's partition deletes its revisions first (healthcode.lib.partitions).
    checkin = models.ForeignKey(
        CheckIn, on_delete=models.CASCADE, related_name="revisions", db_constraint=False
    )
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
