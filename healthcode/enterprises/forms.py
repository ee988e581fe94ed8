"""Forms of the enterprise core: registering an enterprise (one form validates for the page
and the API, so both give the same messages), and the page forms for employees,
co-managers and decisions (their rules live in services.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

from healthcode.codes.forms import clean_phone
from healthcode.enterprises import industries
from healthcode.regions import services as regions


def clean_credit_code(value: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100), normalised to upper case."""
    number = uscc.compact(value or "")
    if not number:
        raise forms.ValidationError(_("请填写统一社会信用代码（18 位）。"), code="required")
    try:
        return uscc.validate(number)
    except InvalidLength:
        raise forms.ValidationError(
            _("统一社会信用代码必须是 18 位（GB 32100），您填写了 %(n)d 位。") % {"n": len(number)},
            code="length",
        ) from None
    except InvalidChecksum:
        raise forms.ValidationError(
            _("统一社会信用代码校验位（第 18 位）不正确（GB 32100 校验码），请核对。"),
            code="checksum",
        ) from None
    except ValidationError:
        raise forms.ValidationError(
            _(
                "统一社会信用代码格式不正确：前 8 位为数字，后 10 位为数字或大写字母"
                "（不使用 I、O、Z、S、V）。"
            ),
            code="format",
        ) from None


class EnterpriseForm(forms.Form):
    """Registering an enterprise (开通企业管理账号)."""

    name = forms.CharField(label=_("企业名称"), max_length=200)
    credit_code = forms.CharField(
        label=_("统一社会信用代码"),
        max_length=30,
        error_messages={"required": _("请填写统一社会信用代码（18 位）。")},
    )
    district = forms.CharField(label=_("所在城区或开发区"), max_length=6)
    industry = forms.CharField(label=_("所属行业（GB/T 4754 门类）"), max_length=1)
    address = forms.CharField(label=_("企业地址"), max_length=200)
    contact_name = forms.CharField(label=_("联系人"), max_length=64)
    contact_phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        help_text=_("留空则使用您的登录手机号。"),
    )

    def __init__(self, *args: object, account_phone: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.account_phone = account_phone
        self.fields["district"].widget = forms.Select(
            choices=[("", "—")] + [(r.code, r.name) for r in regions.nanning_districts()]
        )
        self.fields["industry"].widget = forms.Select(
            choices=[("", "—")] + industries.section_choices()
        )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if len(name) < 2:
            raise forms.ValidationError(_("企业名称至少 2 个字。"), code="name")
        return name

    def clean_credit_code(self) -> str:
        return clean_credit_code(self.cleaned_data["credit_code"])

    def clean_district(self) -> str:
        code = self.cleaned_data["district"].strip()
        if not regions.is_nanning_district(code):
            raise forms.ValidationError(
                _("所在城区必须是南宁市的县（市、区）或开发区代码（如 450103）。"), code="district"
            )
        return code

    def clean_industry(self) -> str:
        section = self.cleaned_data["industry"].strip().upper()
        if section not in industries.sections():
            raise forms.ValidationError(
                _("所属行业必须是 GB/T 4754 国民经济行业分类的门类字母 A–T。"), code="industry"
            )
        return section

    def clean_address(self) -> str:
        return " ".join(self.cleaned_data["address"].split())

    def clean_contact_name(self) -> str:
        return " ".join(self.cleaned_data["contact_name"].split())

    def clean_contact_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("contact_phone") or self.account_phone)


class EmployeeForm(forms.Form):
    """The add/edit-employee form of the pages; services.check_employee holds the rules."""

    name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(
        label=_("手机号"), max_length=20, help_text=_("员工在爱南宁健康码登记的手机号。")
    )
    department_name = forms.CharField(label=_("部门"), max_length=64, required=False)
    returned_to_work = forms.BooleanField(label=_("复工人员"), required=False)
    returned_on = forms.DateField(
        label=_("复工日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class CoManagerForm(forms.Form):
    """Adding or removing a co-manager by phone."""

    phone = forms.CharField(
        label=_("协管员手机号"),
        max_length=20,
        help_text=_("对方须已用该手机号登录过爱南宁健康码。"),
    )


class DecisionForm(forms.Form):
    """An admin's decision on a pending enterprise."""

    note = forms.CharField(label=_("审核意见"), max_length=200, required=False)
