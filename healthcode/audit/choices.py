from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGOUT = "logout", _("退出登录")
    DECLARATION = "declaration", _("申领/申报")
    DECLARATION_UPDATE = "declaration_update", _("更正申报")
    CHECKIN = "checkin", _("健康打卡")
    COLOR_CHANGE = "color_change", _("健康码颜色变化")
    UNMASKED_VIEW = "unmasked_view", _("查看未脱敏数据")
    SCAN = "scan", _("扫码核验")
    KEY_ROTATION = "key_rotation", _("签名密钥轮换")
    REVIEW = "review", _("审核")
