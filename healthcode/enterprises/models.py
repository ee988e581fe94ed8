"""Enterprises (企业模块): registration and approval, managers, employees (linked to their
health codes or kept as invitations), scan permission, health attendance and daily reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.codes.choices import Color
from healthcode.enterprises.choices import EnterpriseStatus, ManagerRole, Verdict


class Enterprise(models.Model):
    """An enterprise with a management account. Pending until an admin of its district or
    its supervising department approves it."""

    name = models.CharField(_("企业名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    district = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("所在城区")
    )
    industry = models.CharField(_("行业门类（GB/T 4754）"), max_length=1)
    department = models.CharField(_("行业主管部门"), max_length=16, db_index=True)
    address = models.CharField(_("地址"), max_length=200)
    contact_name = models.CharField(_("联系人"), max_length=64)
    contact_phone = models.CharField(_("联系电话"), max_length=11)
    status = models.CharField(
        _("状态"), max_length=10, choices=EnterpriseStatus.choices, default=EnterpriseStatus.PENDING
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        indexes = [models.Index(fields=["district", "status"])]

    def __str__(self) -> str:
        return self.name


class EnterpriseManager(models.Model):
    """An account that manages an enterprise: its registrant (owner) or a co-manager."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="managers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="managed_enterprises"
    )
    role = models.CharField(max_length=10, choices=ManagerRole.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "user"], name="one_manager_row_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} manages {self.enterprise}"


class Employee(models.Model):
    """A person on an enterprise's staff list, added by name and registered phone. Linked to
    the person's health code when name and phone match one; otherwise an invitation that links
    itself when that person applies for a code."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="employees")
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("手机号"), max_length=11, db_index=True)
    code = models.ForeignKey(
        "codes.HealthCode", null=True, blank=True, on_delete=models.SET_NULL, related_name="employments"
    )
    department_name = models.CharField(_("部门"), max_length=64, blank=True)
    returned_to_work = models.BooleanField(_("是否复工人员"), default=False)
    returned_on = models.DateField(_("复工日期"), null=True, blank=True)
    can_scan = models.BooleanField(_("扫码权限"), default=False)
    active = models.BooleanField(_("在职"), default=True)
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("员工")
        verbose_name_plural = _("员工")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "phone"],
                condition=Q(active=True),
                name="one_active_employee_per_phone",
            )
        ]
        indexes = [
            models.Index(fields=["enterprise", "active"]),
            # An industry admin's scope (accounts.permissions.codes_in_scope) and the roster's
            # industry filter: the codes of the active staff of some enterprises, read from
            # the index alone instead of scanning every employee.
            models.Index(
                fields=["enterprise", "code"], condition=Q(active=True), name="employees_scope_idx"
            ),
        ]

    def __str__(self) -> str:
        from healthcode.lib.masking import mask_name

        return f"{mask_name(self.name)} @ {self.enterprise_id}"


class Attendance(models.Model):
    """A health-attendance record (健康考勤): a scanner of an enterprise scanned a code and
    recorded temperature and health. It also counts as that person's daily check-in.

    On PostgreSQL the table is partitioned by month of `day` (migration 0003,
    healthcode.lib.partitions); the database's primary key is (id, day)."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="attendance")
    employee = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="attendance"
    )
    code = models.ForeignKey("codes.HealthCode", on_delete=models.CASCADE, related_name="attendance")
    scanner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    day = models.DateField(db_index=True)
    color = models.CharField(max_length=8, choices=Color.choices)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    temperature = models.DecimalField(max_digits=3, decimal_places=1)
    symptoms = models.JSONField(default=list, blank=True)
    # No database constraint: check-ins are partitioned by month on PostgreSQL (key (id, day)),
    # which a foreign key on `checkin_id` alone can't reference. Django still sets it to NULL
    # when a check-in is deleted through the ORM (and when its month's partition is dropped).
    checkin = models.ForeignKey(
        "checkins.CheckIn",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("健康考勤")
        verbose_name_plural = _("健康考勤")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["enterprise", "day"])]

    def __str__(self) -> str:
        return f"attendance {self.pk} {self.enterprise_id} {self.day}"


class DailyReport(models.Model):
    """An enterprise's daily report (每日上报) for one day, in its latest revision; the figures
    are filled in automatically and submitted by a manager."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="reports")
    day = models.DateField()
    figures = models.JSONField(default=dict)
    note = models.CharField(max_length=500, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    revision = models.PositiveSmallIntegerField(default=1)

    class Meta:
        verbose_name = _("每日上报")
        verbose_name_plural = _("每日上报")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "day"], name="one_report_per_day")
        ]

    def __str__(self) -> str:
        return f"report {self.enterprise_id} {self.day} r{self.revision}"


class DailyReportRevision(models.Model):
    """An earlier revision of a daily report, kept when it is corrected."""

    report = models.ForeignKey(DailyReport, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveSmallIntegerField()
    figures = models.JSONField(default=dict)
    note = models.CharField(max_length=500, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["revision"]

    def __str__(self) -> str:
        return f"revision {self.revision} of report {self.report_id}"
