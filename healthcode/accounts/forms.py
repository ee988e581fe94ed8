"""The login page's form: it only carries and shows the fields; the rules live in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    # Not required here: services.validate_phone / verify_otp give the messages that name the rule.
    phone = forms.CharField(
        label=_("手机号"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "numeric",
                "autocomplete": "tel",
                "maxlength": "20",
                "placeholder": "13800138000",
            }
        ),
    )
    code = forms.CharField(
        label=_("短信验证码"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]*",
                "maxlength": "6",
            }
        ),
    )
