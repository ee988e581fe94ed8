"""Back-office roles: who is an authority, with which scope (SPEC §4). Applications for admin
accounts and their approval come with the management system; here a role is granted by a
command (`grant_admin_role`) or by a city admin."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthcode.backoffice.choices import AdminRoleKind, ApplicationStatus


class AdminRole(models.Model):
    """One role of one account: a city admin (everything), a district or development-zone
    admin (`district`), an industry department admin (`department`, a code from
    enterprises/data/industries.json), or a reviewer of a district."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="admin_roles"
    )
    kind = models.CharField(_("角色"), max_length=16, choices=AdminRoleKind.choices)
    district = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.CharField(_("行业主管部门"), max_length=16, blank=True)
    organisation = models.CharField(_("单位"), max_length=100, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("管理角色")
        verbose_name_plural = _("管理角色")
        constraints = [
            models.CheckConstraint(
                name="admin_role_scope_matches_kind",
                condition=(
                    Q(kind="city_admin", district__isnull=True, department="")
                    | Q(kind__in=["district_admin", "reviewer"], district__isnull=False, department="")
                    | Q(kind="industry_admin", district__isnull=True) & ~Q(department="")
                ),
            )
        ]

    def __str__(self) -> str:
        scope = self.district_id or self.department or "city"
        return f"{self.get_kind_display()} ({scope})"


class AdminApplication(models.Model):
    """An application for a back-office account (管理人员账号申请): organisation, role and the
    scope asked for. A city admin approves it (a district admin may approve reviewers of its own
    district); approval generates the account's role and sets the password chosen here."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="admin_applications"
    )
    organisation = models.CharField(_("单位"), max_length=100)
    position = models.CharField(_("职务"), max_length=64, blank=True)
    kind = models.CharField(_("申请角色"), max_length=16, choices=AdminRoleKind.choices)
    district = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.CharField(_("行业主管部门"), max_length=16, blank=True)
    reason = models.CharField(_("申请理由"), max_length=500, blank=True)
    password_hash = models.CharField(max_length=256)
    status = models.CharField(
        max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)
    role = models.OneToOneField(
        AdminRole, null=True, blank=True, on_delete=models.SET_NULL, related_name="application"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("管理人员账号申请")
        verbose_name_plural = _("管理人员账号申请")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant"], condition=Q(status="pending"), name="one_pending_application"
            )
        ]

    def __str__(self) -> str:
        return f"application {self.pk} {self.kind} {self.status}"
