"""The privacy API: deleting one's own account (POST /api/v1/me/delete)."""

from __future__ import annotations

from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from healthcode.accounts.auth import api_auth, client_ip
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.privacy.services import delete_account

router = Router(tags=["privacy"])


class DeleteAccountIn(Schema):
    confirm: bool = False


class DeleteAccountOut(Schema):
    deleted: bool
    removed: dict[str, int]


@router.post(
    "/me/delete",
    auth=api_auth,
    response={200: DeleteAccountOut, 400: ErrorsOut, 401: ErrorOut},
    summary="Delete this account and all personal data of its codes",
)
def delete_me(request: HttpRequest, payload: DeleteAccountIn) -> DeleteAccountOut:
    """Requires `{"confirm": true}`. Refused (400 on "account") while the account holds a
    back-office role or manages an enterprise. The account's tokens go with it."""
    if not payload.confirm:
        raise ValidationError(
            {"confirm": [_("请将 confirm 设为 true，确认注销账号并删除全部个人信息。")]}
        )
    removed = delete_account(user=request.auth, ip=client_ip(request))  # type: ignore[arg-type]
    if hasattr(request, "session"):
        logout(request)
    return DeleteAccountOut(deleted=True, removed=removed)
