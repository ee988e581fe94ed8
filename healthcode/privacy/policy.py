"""The retention policy: how long each kind of personal data is kept (days), from the setting
HEALTHCODE_RETENTION_DAYS (a dict; missing kinds take the defaults below).

Other apps add their own kinds by a module `<app>/privacy_hooks.py` with a list
`RETENTION_RULES` of `RetentionRule` (see `hooks.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q

# Check-ins feed the colour rules for one observation period (14 days): keep them longer.
DEFAULT_RETENTION_DAYS: dict[str, int] = {
    "checkins": 30,
    "checkin_revisions": 30,
    "scans": 30,
    "attendance": 30,
    "otp_challenges": 1,
    "api_tokens_expired": 7,
    "job_files": 7,
    "notifications": 90,
    "sms_file": 7,
}


def retention_days() -> dict[str, int]:
    """The policy in force: the defaults overridden by settings.HEALTHCODE_RETENTION_DAYS."""
    configured = getattr(settings, "HEALTHCODE_RETENTION_DAYS", None) or {}
    return {**DEFAULT_RETENTION_DAYS, **{k: int(v) for k, v in configured.items()}}


@dataclass(frozen=True)
class RetentionRule:
    """Rows of `model` ("app_label.ModelName") older than the policy for `kind`: those whose
    `date_field` is before the cut-off (and that match `extra`, if given). `condition` builds
    the filter itself when one date field is not enough; `before_delete(rows)` runs on each
    batch before it is deleted (e.g. to remove files the rows point to)."""

    kind: str
    model: str
    date_field: str = ""
    default_days: int = 30
    extra: Q | None = None
    condition: Callable[[datetime], Q] | None = None
    before_delete: Callable[[list[Any]], None] | None = field(default=None, compare=False)

    def filter_for(self, cutoff: datetime) -> Q:
        q = self.condition(cutoff) if self.condition else Q(**{f"{self.date_field}__lt": cutoff})
        return q & self.extra if self.extra is not None else q
