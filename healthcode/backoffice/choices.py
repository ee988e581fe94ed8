from django.db import models
from django.utils.translation import gettext_lazy as _


class AdminRoleKind(models.TextChoices):
    CITY_ADMIN = "city_admin", _("市级管理员")
    DISTRICT_ADMIN = "district_admin", _("县（区）/开发区管理员")
    INDUSTRY_ADMIN = "industry_admin", _("行业主管部门管理员")
    REVIEWER = "reviewer", _("审核员")


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("未批准")
