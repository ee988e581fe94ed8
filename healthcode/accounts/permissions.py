"""Who may see what: the one place that answers it, as querysets.

Views, API and commands never filter by owner themselves; they start from these.
Later roles (enterprise managers, reviewers, district/industry/city admins) add their
scopes here.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

if TYPE_CHECKING:
    from healthcode.accounts.models import User
    from healthcode.codes.models import HealthCode


def codes_visible_to(user: User) -> QuerySet[HealthCode]:
    """The codes an account holds: its own and those of the family members it added."""
    from healthcode.codes.models import HealthCode

    if not getattr(user, "is_authenticated", False):
        return HealthCode.objects.none()
    return HealthCode.objects.filter(account=user)


def code_for_holder(user: User, public_id: object) -> HealthCode:
    """A code the account holds, or 404 (never 403: another account's code does not exist
    for this account). A malformed id is simply not found."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("no such code") from None
    return get_object_or_404(
        codes_visible_to(user).select_related("district", "return_region"), public_id=public_id
    )
