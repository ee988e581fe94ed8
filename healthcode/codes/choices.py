from django.db import models
from django.utils.translation import gettext_lazy as _


class Color(models.TextChoices):
    GREEN = "green", _("绿码")
    YELLOW = "yellow", _("黄码")
    RED = "red", _("红码")


class Symptom(models.TextChoices):
    FEVER = "fever", _("发热")
    COUGH = "cough", _("咳嗽")
    FATIGUE = "fatigue", _("乏力")
    SORE_THROAT = "sore_throat", _("咽痛")
    SHORT_BREATH = "short_breath", _("气促")
    DIARRHEA = "diarrhea", _("腹泻")
    OTHER = "other", _("其他不适")


class Relation(models.TextChoices):
    SELF = "self", _("本人")
    FAMILY = "family", _("家庭成员")


class ChangeCause(models.TextChoices):
    DECLARATION = "declaration", _("申报")
    CHECKIN = "checkin", _("健康打卡")
    SWEEP = "sweep", _("到期自动转换")
    REVIEW = "review", _("审核")
    RULE_SET = "rule_set", _("规则更新")
    MANUAL = "manual", _("人工赋码")
    OFFICIAL_LIST = "official_list", _("官方名单")


class ReviewOutcome(models.TextChoices):
    APPROVE = "approve", _("审核通过")
    REFUSE = "refuse", _("审核不通过")


class OfficialListKind(models.TextChoices):
    CONFIRMED = "confirmed", _("确诊病例")
    SUSPECTED = "suspected", _("疑似病例")
    ASYMPTOMATIC = "asymptomatic", _("无症状感染者")
    CLOSE_CONTACT = "close_contact", _("密切接触者")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    APPROVED = "approved", _("已复核生效")
    REJECTED = "rejected", _("复核未通过")
    WITHDRAWN = "withdrawn", _("已撤回")
