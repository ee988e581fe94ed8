"""Load demo residents covering every colour path and print logins (make demo)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from healthcode.codes.demo import seed_demo


class Command(BaseCommand):
    help = "Create demo residents (every colour path) and print their logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--residents", type=int, default=300)

    def handle(self, *args: Any, **options: Any) -> None:
        logins = seed_demo(residents=options["residents"])
        self.stdout.write(self.style.SUCCESS(f"demo data ready ({options['residents']} residents)"))
        self.stdout.write("Demo logins (phone → the one-time code is printed by the console SMS backend):")
        for phone, describe, color in logins:
            self.stdout.write(f"  {phone}  {color}  {describe}")
