"""`manage.py rotate_field_key`: re-encrypt every encrypted field under the current (first)
key of HEALTHCODE_FIELD_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from healthcode.lib.crypto import current_field_kid
from healthcode.privacy.rotation import rotate_field_key, rows_under_old_keys


class Command(BaseCommand):
    help = (
        "Rotate the field-encryption key without downtime: (1) put the new key first in "
        "HEALTHCODE_FIELD_KEYS, keeping the old one after it ('k2:new,k1:old'), and deploy; "
        "(2) run this command until it reports 0 rows left under old keys; (3) remove the old "
        "key and deploy. Blind indexes are not affected (separate key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"current key: {current_field_kid()}")
        done = rotate_field_key(batch_size=options["batch_size"])
        for column, n in done.items():
            self.stdout.write(f"re-encrypted {n} rows of {column}")
        left = rows_under_old_keys()
        for column, n in left.items():
            self.stdout.write(f"{n} rows left under old keys in {column}")
        self.stdout.write(f"{sum(left.values())} rows left under old keys")
