"""manage.py import_official_list FILE --as PHONE

Import an official list (确诊、疑似、无症状感染者、密切接触者) from an XLSX or CSV file, as the
city admin with that phone — the same service as the back-office page and API: all rows or
none, matched codes re-derived at once. Prints the counts and the unmatched rows (masked);
on bad rows prints every one (row number, column, reason) and exits with status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from healthcode.codes import official_lists as lists
from healthcode.enterprises.imports import ImportRejected
from healthcode.lib.errors import ApiError


class Command(BaseCommand):
    help = "Import an official list file (XLSX or CSV) as a city admin; all rows or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the list file (.xlsx or .csv)")
        parser.add_argument(
            "--as", dest="phone", required=True, help="the importing city admin's mobile number"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from healthcode.accounts.services import validate_phone

        try:
            phone = validate_phone(options["phone"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        actor = get_user_model().objects.filter(phone=phone).first()
        if actor is None:
            raise CommandError(f"no account with the phone {options['phone']}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            with path.open("rb") as handle:
                batch = lists.import_official_list(actor=actor, file=File(handle, name=path.name))
        except ApiError as exc:
            raise CommandError(exc.detail) from None
        except ImportRejected as exc:
            for message in exc.message_dict.get("file", []):
                self.stderr.write(message)
            for bad in exc.rows:
                for key, messages in bad.errors.items():
                    for message in messages:
                        self.stderr.write(f"row {bad.row} {lists.column_label(key)}: {message}")
            raise CommandError("nothing imported") from None
        self.stdout.write(
            f"batch {batch.pk}: {batch.rows} row(s), {batch.matched} matched, "
            f"{batch.unmatched} unmatched"
        )
        for row in batch.unmatched_rows:  # type: ignore[attr-defined]
            self.stdout.write(
                f"unmatched row {row.row}: {row.name} {row.id_number} {row.kind} "
                f"{row.listed_on.isoformat()}"
            )
