"""How other apps take part in the privacy lifecycle, without this app knowing their models.

An app may define `<app>/privacy_hooks.py` with any of:

- `RETENTION_RULES: list[RetentionRule]` — more kinds for the scheduled purge;
- `forget_codes(code_ids: list[int]) -> dict[str, int]` — called before health codes are
  deleted (account deletion, end of emergency) to delete what the app holds about them that a
  cascade would not remove (files, rows protecting the code); returns counts per table.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from django.apps import apps


def hook_modules() -> list[ModuleType]:
    """The `privacy_hooks` modules of the installed apps, in INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        try:
            found.append(import_module(f"{config.name}.privacy_hooks"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.privacy_hooks":
                raise
    return found
