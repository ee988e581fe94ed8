"""System checks (`manage.py check`, run at every start): a malformed rate limit is found at
deploy time, not at the first request it would have answered with a 500."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from healthcode.lib.throttle import parse_rate


@checks.register(checks.Tags.compatibility)
def check_rate_limits(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name, text in settings.HEALTHCODE_RATE_LIMITS.items():
        try:
            parse_rate(text)
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(f"HEALTHCODE_RATE_{name.upper()}: {exc}", id="healthcode.ops.E001")
            )
    return errors
