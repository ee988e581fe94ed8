"""manage.py grant_admin_role --phone P --kind city_admin|district_admin|industry_admin|reviewer
[--district CODE] [--department CODE]"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from healthcode.backoffice.choices import AdminRoleKind
from healthcode.backoffice.services import grant_admin_role


class Command(BaseCommand):
    help = "Grant a back-office role (city, district/zone, industry department admin, reviewer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--phone", required=True, help="the account's mobile number")
        parser.add_argument("--kind", required=True, choices=AdminRoleKind.values)
        parser.add_argument("--district", default="", help="6-digit district/zone code (450103)")
        parser.add_argument("--department", default="", help="department code, e.g. gxj")
        parser.add_argument("--organisation", default="", help="the admin's organisation")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            role, created = grant_admin_role(
                phone=options["phone"],
                kind=options["kind"],
                district=options["district"],
                department=options["department"],
                organisation=options["organisation"],
            )
        except ValidationError as exc:
            messages = (
                [f"{field}: {m}" for field, msgs in exc.message_dict.items() for m in msgs]
                if hasattr(exc, "error_dict")
                else exc.messages
            )
            raise CommandError("; ".join(messages)) from None
        note = " (account created)" if created else ""
        self.stdout.write(f"granted {role} to {role.user}{note}")
