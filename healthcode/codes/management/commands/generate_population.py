"""Generate a synthetic population into an empty database (healthcode.codes.population):
residents with accounts and codes, enterprises with staff, days of check-ins, attendance and
scans. On PostgreSQL it loads with COPY; 1,000,000 residents take a few minutes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from healthcode.codes.population import PopulationError, generate


class Command(BaseCommand):
    help = "Generate residents, enterprises and days of check-ins into an empty database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--residents", type=int, default=1_000_000)
        parser.add_argument("--enterprises", type=int, default=50_000)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=20200221)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            figures = generate(
                residents=options["residents"],
                enterprises=options["enterprises"],
                days=options["days"],
                seed=options["seed"],
                progress=self.stdout.write,
            )
        except PopulationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{'table':<28}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
        for table, f in figures["tables"].items():
            self.stdout.write(
                f"{table:<28}{f['rows']:>12,}{f['seconds']:>10.1f}{f['rows_per_s']:>12,}"
            )
        self.stdout.write(
            f"{'total':<28}{figures['rows']:>12,}{figures['seconds']:>10.1f}"
            f"{figures['rows_per_s']:>12,}"
        )
        colors = figures["colors"]
        self.stdout.write(
            f"codes: {colors['green']:,} green, {colors['yellow']:,} yellow, {colors['red']:,} red"
        )
        self.stdout.write(f"city admin account: {figures['staff_phones']['city_admin']}")
