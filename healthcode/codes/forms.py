"""Validation of the declaration (申领) — one form for the page and the API, so both give the
same messages, naming the field and the rule, in the user's language."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from healthcode.codes.choices import Symptom
from healthcode.regions import services as regions

TEMPERATURE_MIN = Decimal("34.0")
TEMPERATURE_MAX = Decimal("43.0")
YES_NO = [("True", _("是")), ("False", _("否"))]


def clean_phone(value: str) -> str:
    """The accounts' phone rule (one place): a mainland mobile number, normalised."""
    from healthcode.accounts.services import validate_phone

    try:
        return validate_phone(value)
    except forms.ValidationError as exc:
        raise forms.ValidationError(exc.message_dict["phone"]) from None


@lru_cache(maxsize=65536)
def _birth_place_known(region: str, year: int) -> bool:
    """python-stdnum's region check depends only on the 6-digit region and the birth year, and
    its lookup is most of the cost of validating a number: cached (official lists and imports
    validate 100,000 numbers at a time)."""
    try:
        ric.get_birth_place(f"{region}{year}0101000" + "0")
    except ValidationError:
        return False
    return True


def _validate_ric(number: str) -> str:
    """stdnum.cn.ric.validate, with the region lookup cached."""
    number = ric.compact(number)
    if len(number) != 18:
        raise InvalidLength()
    if not re.fullmatch(r"[0-9]{17}", number[:-1]):
        raise InvalidFormat()
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidChecksum()
    born = ric.get_birth_date(number)
    if not _birth_place_known(number[:6], born.year):
        raise InvalidComponent()
    return number


def clean_id_number(value: str) -> str:
    number = ric.compact(value or "")
    try:
        return _validate_ric(number)
    except InvalidLength:
        raise forms.ValidationError(_("身份证号必须是 18 位（GB 11643）。"), code="length") from None
    except InvalidChecksum:
        raise forms.ValidationError(
            _("身份证号校验位不正确（GB 11643 校验码），请核对。"), code="checksum"
        ) from None
    except InvalidComponent:
        try:
            ric.get_birth_date(number)
        except ValidationError:
            raise forms.ValidationError(
                _("身份证号第 7–14 位的出生日期无效，请核对。"), code="birth_date"
            ) from None
        raise forms.ValidationError(
            _("身份证号前 6 位不是有效的行政区划代码，请核对。"), code="birth_place"
        ) from None
    except ValidationError:
        raise forms.ValidationError(
            _("身份证号格式不正确：前 17 位为数字，最后一位为数字或 X。"), code="format"
        ) from None


def clean_temperature(value: Decimal | None) -> Decimal | None:
    if value is not None and not (TEMPERATURE_MIN <= value <= TEMPERATURE_MAX):
        raise forms.ValidationError(
            _("体温必须在 34.0 至 43.0 °C 之间。"), code="temperature_range"
        )
    return value


class StrictBooleanField(forms.NullBooleanField):
    """A boolean that must be given (true or false); an absent value is an error,
    not silently false."""

    def validate(self, value: bool | None) -> None:
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class DeclarationForm(forms.Form):
    """The resident's declaration (SPEC §3, GB/T 38962-2020 groups)."""

    name = forms.CharField(label=_("姓名"), max_length=64)
    id_number = forms.CharField(label=_("身份证号"), max_length=20)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    address = forms.CharField(label=_("居住地址"), max_length=200)
    district = forms.CharField(label=_("所在城区"), max_length=6)
    returned_to_work = forms.BooleanField(label=_("是否复工人员"), required=False)
    employer = forms.CharField(label=_("工作单位"), max_length=200, required=False)
    returned_from_elsewhere = forms.BooleanField(label=_("是否外地返回"), required=False)
    return_region = forms.CharField(label=_("返回城市"), max_length=6, required=False)
    arrival_date = forms.DateField(label=_("到邕时间"), required=False)
    contact_with_case = forms.BooleanField(
        label=_("是否接触过确诊、疑似或无症状感染者"), required=False
    )
    contact_date = forms.DateField(label=_("接触日期"), required=False)
    symptoms = forms.MultipleChoiceField(
        label=_("目前症状"), choices=Symptom.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    temperature = forms.DecimalField(
        label=_("当前体温（°C）"), max_digits=3, decimal_places=1, required=False
    )
    attestation = forms.BooleanField(
        label=_("本人承诺所填信息准确、完整、真实有效，如有虚假，将承担相关法律责任，"
                "相关失信信息归集到南宁市公共信用信息共享平台。"),
        required=True,
        error_messages={"required": _("必须勾选承诺：所填信息真实、完整、准确。")},
    )

    def __init__(self, *args: object, account_phone: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.account_phone = account_phone
        self.fields["district"].widget = forms.Select(
            choices=[("", "—")] + [(r.code, r.name) for r in regions.nanning_districts()]
        )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not re.fullmatch(r"[\u3400-\u9fff·A-Za-z .]{2,64}", name):
            raise forms.ValidationError(
                _("姓名须为 2–64 个汉字或字母（可含间隔号·、空格和点）。"), code="name"
            )
        return name

    def clean_id_number(self) -> str:
        return clean_id_number(self.cleaned_data["id_number"])

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone") or self.account_phone
        return clean_phone(value)

    def clean_district(self) -> str:
        code = self.cleaned_data["district"]
        if not regions.is_nanning_district(code):
            raise forms.ValidationError(
                _("所在城区必须是南宁市的县（市、区）或开发区代码（如 450103）。"), code="district"
            )
        return code

    def clean_return_region(self) -> str:
        code = (self.cleaned_data.get("return_region") or "").strip()
        if code and not regions.is_region(code):
            raise forms.ValidationError(
                _("返回城市必须是有效的 6 位行政区划代码（GB/T 2260），如 420000、440300。"),
                code="region",
            )
        return code

    def clean_temperature(self) -> Decimal | None:
        return clean_temperature(self.cleaned_data.get("temperature"))

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        if data.get("returned_from_elsewhere"):
            if not data.get("return_region") and "return_region" not in self.errors:
                self.add_error(
                    "return_region", _("外地返回人员必须填写返回城市（6 位行政区划代码）。")
                )
            if not data.get("arrival_date") and "arrival_date" not in self.errors:
                self.add_error("arrival_date", _("外地返回人员必须填写到邕时间。"))
        else:
            data["return_region"] = ""
            data["arrival_date"] = None
        arrival = data.get("arrival_date")
        if arrival and arrival > today:
            self.add_error("arrival_date", _("到邕时间不能晚于今天。"))
        if data.get("contact_with_case"):
            if not data.get("contact_date") and "contact_date" not in self.errors:
                self.add_error("contact_date", _("接触过病例的，必须填写接触日期。"))
        else:
            data["contact_date"] = None
        contact = data.get("contact_date")
        if contact and contact > today:
            self.add_error("contact_date", _("接触日期不能晚于今天。"))
        if data.get("returned_to_work") and not (data.get("employer") or "").strip():
            self.add_error("employer", _("复工人员必须填写工作单位。"))
        return data


class CheckInForm(forms.Form):
    """A daily check-in (健康打卡)."""

    temperature = forms.DecimalField(label=_("体温（°C）"), max_digits=3, decimal_places=1)
    symptoms = forms.MultipleChoiceField(
        label=_("今日症状"), choices=Symptom.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    in_nanning = StrictBooleanField(label=_("今日是否在南宁"), widget=forms.RadioSelect(choices=YES_NO))
    new_contact = StrictBooleanField(
        label=_("是否新接触确诊、疑似或无症状感染者"), widget=forms.RadioSelect(choices=YES_NO)
    )

    def clean_temperature(self) -> Decimal | None:
        return clean_temperature(self.cleaned_data.get("temperature"))
