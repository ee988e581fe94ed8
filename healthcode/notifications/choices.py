from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    COLOR_CHANGE = "color_change", _("健康码颜色变化")
    REVIEW_OUTCOME = "review_outcome", _("审核结果")
    APPEAL_OUTCOME = "appeal_outcome", _("申诉结果")
    DISHONESTY_RECORD = "dishonesty_record", _("失信信息")
    OTHER = "other", _("其他")
