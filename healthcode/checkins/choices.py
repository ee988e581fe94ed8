from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckInSource(models.TextChoices):
    SELF = "self", _("本人打卡")
    ENTERPRISE_SCAN = "enterprise_scan", _("企业扫码")
