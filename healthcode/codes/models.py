"""Health codes: the declaration a resident makes for themself or a family member, the colour
derived from it by the rule set, the history of colour changes, reviews, and signing keys."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.codes.choices import (
    ChangeCause,
    Color,
    OfficialListKind,
    Relation,
    RequestStatus,
    ReviewOutcome,
)

# Colours by severity (green, yellow, red), for sorting: the roster sorts by this expression
# and an index holds it (HealthCode.Meta), so a page sorted by colour is read in order.
COLOR_RANK = Case(
    When(color=Color.GREEN, then=Value(0)),
    When(color=Color.YELLOW, then=Value(1)),
    When(color=Color.RED, then=Value(2)),
    default=Value(3),
    output_field=models.IntegerField(),
)


class HealthCode(models.Model):
    """One person's health code, held by an account (the person's own, or a family member's).

    The ID number is stored encrypted (`id_number_encrypted`) with a keyed blind index
    (`id_number_index`) for equality lookup; a person has at most one code.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="health_codes"
    )
    relation = models.CharField(_("与账号关系"), max_length=8, choices=Relation.choices)

    # Personal basic information (GB/T 38962-2020)
    name = models.CharField(_("姓名"), max_length=64)
    id_number_encrypted = models.TextField(_("身份证号（加密）"))
    id_number_index = models.CharField(max_length=64, unique=True)
    id_number_masked = models.CharField(_("身份证号"), max_length=18)
    # Indexed (in Meta): employees and invitations are matched to codes by phone.
    phone = models.CharField(_("联系电话"), max_length=11)
    address = models.CharField(_("居住地址"), max_length=200)
    # Indexed by the composite indexes in Meta, which lead with it.
    district = models.ForeignKey(
        "regions.Region",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("所在城区"),
        db_index=False,
    )
    returned_to_work = models.BooleanField(_("是否复工人员"), default=False)
    employer = models.CharField(_("工作单位"), max_length=200, blank=True)

    # Travel information
    returned_from_elsewhere = models.BooleanField(_("是否外地返回"), default=False)
    return_region = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("返回城市"),
    )
    arrival_date = models.DateField(_("到邕时间"), null=True, blank=True)

    # Health information
    contact_with_case = models.BooleanField(_("是否接触确诊/疑似/无症状感染者"), default=False)
    contact_date = models.DateField(_("接触日期"), null=True, blank=True)
    symptoms = models.JSONField(_("症状"), default=list, blank=True)
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1, null=True)
    attested_at = models.DateTimeField(_("承诺时间"))

    # The derived colour (never typed in) and what it was derived from
    color = models.CharField(_("健康码状态"), max_length=8, choices=Color.choices)
    reasons = models.JSONField(default=list)
    path_to_green = models.JSONField(default=list)
    rule_set_id = models.CharField(max_length=64)
    rule_set_version = models.PositiveIntegerField()
    next_change_at = models.DateTimeField(null=True, blank=True, db_index=True)
    color_since = models.DateTimeField(default=timezone.now)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("健康码")
        verbose_name_plural = _("健康码")
        # The roster's filters and sorts (backoffice/roster.py), each proven by EXPLAIN in
        # backoffice/tests/test_roster_indexes.py. A page is ORDER BY <sort>, id LIMIT n: each
        # index ends with id so the page is read in order and stops at n rows. A district
        # admin's scope is `district = X`, hence the indexes that lead with the district.
        # Every index costs each insert and each update that changes an indexed column (such
        # an update is not HOT and writes every index): add one only with the query that
        # needs it, and none on a column the frequent updates change.
        indexes = [
            # District scope and filter, with or without colour; statistics by district and
            # colour (an index-only scan).
            models.Index(fields=["district", "color", "id"], name="codes_district_color_idx"),
            models.Index(fields=["district", "id"], name="codes_district_order_idx"),
            # City-wide colour filter.
            models.Index(fields=["color", "id"], name="codes_color_order_idx"),
            # The two yes/no filters, either answer, in a district (read in order) or the city
            # (counted from the index alone, not the wide rows).
            models.Index(
                fields=["returned_from_elsewhere", "district", "id"],
                name="codes_from_elsewhere_idx",
            ),
            models.Index(
                fields=["returned_to_work", "district", "id"], name="codes_returned_to_work_idx"
            ),
            # Arrival date range, and the sort by it.
            models.Index(fields=["arrival_date", "id"], name="codes_arrival_order_idx"),
            # The sorts by name and by colour severity (the same expression as the roster's
            # sort: the EXPLAIN test fails if they drift apart). Not `updated_at`: every
            # check-in writes it, and an index on it would make those updates non-HOT (each
            # one then writes every index of the table); sorting by it sorts the scope.
            models.Index(fields=["name", "id"], name="codes_name_order_idx"),
            models.Index(COLOR_RANK, "id", name="codes_color_rank_idx"),
            models.Index(fields=["phone"], name="codes_phone_idx"),
            models.Index(fields=["account", "created_at"]),
        ]

    def __str__(self) -> str:
        from healthcode.lib.masking import mask_name

        return f"{mask_name(self.name)} ({self.get_color_display()})"


class ColorChange(models.Model):
    """A change of a code's colour or reasons, with the rule set version that decided it."""

    code = models.ForeignKey(HealthCode, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    color_from = models.CharField(max_length=8, choices=Color.choices, blank=True)
    color_to = models.CharField(max_length=8, choices=Color.choices)
    reasons = models.JSONField(default=list)
    rule_set_id = models.CharField(max_length=64)
    rule_set_version = models.PositiveIntegerField()
    cause = models.CharField(max_length=16, choices=ChangeCause.choices)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.code_id}: {self.color_from or '-'} -> {self.color_to} ({self.cause})"


class Review(models.Model):
    """A reviewer's decision on a yellow or red code (审核). Approval makes the code green once
    the rule set's conditions are met (e.g. the observation period has ended)."""

    code = models.ForeignKey(HealthCode, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=8, choices=ReviewOutcome.choices)
    note = models.TextField(blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "id"]

    def __str__(self) -> str:
        return f"review of {self.code_id}: {self.outcome}"


class SigningKey(models.Model):
    """A QR signing key. The private key is stored encrypted under the key-encryption key;
    the public half stays published until every token it signed has expired."""

    kid = models.CharField(max_length=32, unique=True)
    algorithm = models.CharField(max_length=16)
    private_key_encrypted = models.TextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    publish_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.algorithm} key {self.kid}"


class Scan(models.Model):
    """One online verification of a QR token (who scanned, when, from where, the result).
    Attendance data (enterprise, temperature) is added by the enterprise module.

    On PostgreSQL the table is partitioned by month of `at`, Asia/Shanghai months (migration
    0002, healthcode.lib.partitions); the database's primary key is (id, at)."""

    scanner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    code = models.ForeignKey(
        HealthCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="scans"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    result = models.CharField(max_length=16)  # "valid" or the rejection reason
    color = models.CharField(max_length=8, choices=Color.choices, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"scan {self.pk} {self.result} at {self.at:%Y-%m-%d %H:%M:%S}"


class ManualColorRequest(models.Model):
    """Turning a code yellow or red by hand (人工赋码): a reason from the closed list of the
    rule set in force, requested by one authority and confirmed by a second one (four eyes).
    Once confirmed it is a fact the rules engine weighs like any other, until a later review
    approves the code."""

    code = models.ForeignKey(HealthCode, on_delete=models.CASCADE, related_name="manual_requests")
    color = models.CharField(max_length=8, choices=Color.choices)
    reason_code = models.CharField(max_length=32)
    note = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(status="pending"), name="one_pending_manual_request"
            )
        ]

    def __str__(self) -> str:
        return f"manual {self.color} for {self.code_id} ({self.status})"


class OfficialListImport(models.Model):
    """One import of an official list file from the health commission (确诊、疑似、无症状感染者、
    密切接触者): who, when, the file's name and digest, and how many rows matched."""

    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, unique=True)
    rows = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"official list {self.pk} ({self.rows} rows)"


class OfficialListEntry(models.Model):
    """One person on an official list, by the blind index of the ID number (never stored in
    clear here), matched to a code when one exists (and later, when that person declares)."""

    batch = models.ForeignKey(OfficialListImport, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=16, choices=OfficialListKind.choices)
    id_number_index = models.CharField(max_length=64, db_index=True)
    name_masked = models.CharField(max_length=64, blank=True)
    listed_on = models.DateField()
    code = models.ForeignKey(
        HealthCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="official_entries"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-listed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} listed {self.listed_on}"


class RuleSetVersion(models.Model):
    """A published version of a rule set (data, validated by rules.load_rule_set). The newest
    published version is in force; the packaged default stands in until one is published."""

    rule_set_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    data = models.JSONField()
    note = models.CharField(max_length=500, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)
    dry_run = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule_set_id", "version"], name="one_rule_set_version")
        ]

    def __str__(self) -> str:
        return f"{self.rule_set_id}@{self.version}"
