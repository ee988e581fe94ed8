from django.db import models
from django.utils.translation import gettext_lazy as _


class EnterpriseStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("未通过")


class ManagerRole(models.TextChoices):
    OWNER = "owner", _("管理员")
    CO_MANAGER = "co_manager", _("协管员")


class Verdict(models.TextChoices):
    MAY_WORK = "may_work", _("可返岗")
    MAY_NOT_WORK = "may_not_work", _("暂不可返岗")
