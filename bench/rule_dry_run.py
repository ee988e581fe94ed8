"""Benchmark of the dry run of a rule-set change over 1,000,000 codes (issue 4, "Done when").

The codes are the population of `healthcode.codes.population` (residents with their colours
from the rules engine, most never left Nanning, some back from elsewhere in Guangxi, from
other provinces — Guangdong among them — or from Hubei, their daily check-ins and reviews).
The candidate rule set turns Guangdong (440000) red; it is timed, in the same run:

- the dry run through `healthcode.codes.rulesets_store.dry_run`, the code path of the back
  office's dry-run job: facts loaded in batches, decided, compared, counted, nothing written;
- the time spent in `rules.decide` in that same pass (a thin timing wrapper; the dry run may
  decide once for many risk-free codes), and the rest (loading the facts in batches,
  comparing, counting);
- the baseline: reading every row the facts come from (the codes' declared facts, all their
  check-ins and reviews) with a plain DB-API cursor (server-side on PostgreSQL, fetchmany of
  10,000, in table order) — no objects, no decisions. (A dry run that needs only some of the
  check-ins, those of codes at risk, may read less than that.)

bench/scale.py generates one population of 1,000,000 residents (30 days of check-ins) on
PostgreSQL per run and calls `measure()` here through `--measure` (Django on DATABASE_URL).
Run alone (`python bench/rule_dry_run.py`), it generates BENCH_CODES residents (default
1,000,000) with BENCH_DAYS days of check-ins (default 3) into a throw-away database — SQLite in
a temporary directory, or, when DATABASE_URL names a PostgreSQL server, a fresh test database
on it (created and dropped here, never the named one) — and writes
bench/results/rule_dry_run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path, where a module named like one of the
# standard library's (bench/http.py) would shadow it: the project root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CODES = int(os.environ.get("BENCH_CODES", "1000000"))
DAYS = int(os.environ.get("BENCH_DAYS", "3"))
GUANGDONG = "440000"


def _setup_django(tmp: Path, *, own_database: bool) -> tuple[str, Any]:
    """Django on DATABASE_URL (or a throw-away SQLite file in `tmp`). With `own_database`, a
    fresh test database beside a PostgreSQL one, dropped by the returned teardown."""
    import django
    from django.apps import apps

    if apps.ready:
        raise RuntimeError("bench/rule_dry_run.py needs a process of its own (Django is set up)")
    url = os.environ.get("DATABASE_URL", "")
    postgres = url.startswith(("postgres://", "postgresql://"))
    if not postgres:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("HEALTHCODE_VAR_DIR", str(tmp))
    os.environ["HEALTHCODE_TESTING"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "healthcode.settings"
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if postgres and own_database:
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)

        def teardown() -> None:
            connection.creation.destroy_test_db(old_name, verbosity=0)

        return "postgresql", teardown
    if not postgres:
        call_command("migrate", verbosity=0, interactive=False)
    return connection.vendor, lambda: None


def candidate() -> dict[str, Any]:
    """The rule set in force, one version up, with Guangdong red."""
    from healthcode.codes import rulesets_store

    data = rulesets_store.rule_set_in_force().to_dict()
    data["version"] += 1
    data["rules"]["return_region"]["regions"].append(
        {"code": GUANGDONG, "color": "red", "name_zh": "广东省", "name_en": "Guangdong Province"}
    )
    return data


def measure(now: datetime | None = None) -> dict[str, Any]:
    """The dry run of `candidate()` over every code in the database, timed, with the time
    spent in rules.decide measured in the same pass (a thin timing wrapper)."""
    from django.db.models import Count
    from django.utils import timezone

    from healthcode.codes import rules, rulesets_store
    from healthcode.codes.models import HealthCode

    data = candidate()
    now = now or timezone.now()
    decide = rules.decide
    spent = [0.0]
    clock = time.perf_counter

    def timed_decide(facts: rules.Facts, rule_set: rules.RuleSet, at: datetime) -> Any:
        started = clock()
        try:
            return decide(facts, rule_set, at)
        finally:
            spent[0] += clock() - started

    # The wrapper costs two clock reads per code: measured alone below and left out.
    probe = rules.Facts(
        rules.Declaration(
            returned_from_elsewhere=False, return_region=None, arrival_date=None,
            contact_with_case=False, contact_date=None, symptoms=frozenset(), temperature=36.5,
            declared_at=now,
        )
    )  # fmt: skip
    in_force = rulesets_store.rule_set_in_force()
    started = clock()
    for _ in range(20_000):
        decide(probe, in_force, now)
    bare = clock() - started
    spent[0] = 0.0
    for _ in range(20_000):
        timed_decide(probe, in_force, now)
    overhead = max(0.0, (spent[0] - bare) / 20_000)

    rules.decide = timed_decide
    spent[0] = 0.0
    try:
        started = clock()
        result = rulesets_store.dry_run(data=data, now=now)
        dry_run_s = clock() - started
    finally:
        rules.decide = decide
    n = result["codes"]
    decide_s = max(0.0, spent[0] - overhead * n)
    raw_read_s, raw_rows = _raw_read()
    return {
        "codes": n,
        "checkins": _count_checkins(),
        "stored_colors": dict(
            HealthCode.objects.order_by()
            .values("color")
            .annotate(n=Count("pk"))
            .values_list("color", "n")
        ),
        "dry_run_s": dry_run_s,
        "dry_run_codes_per_s": n / dry_run_s,
        "dry_run_changed": result["changed"],
        "dry_run_changes": result["changes"],
        "decide_only_s": decide_s,
        "decide_only_codes_per_s": n / decide_s if decide_s else 0.0,
        "load_and_compare_s": dry_run_s - decide_s,
        "raw_read_s": raw_read_s,
        "raw_read_rows": raw_rows,
        "dry_run_to_raw_read": dry_run_s / raw_read_s if raw_read_s else 0.0,
        "peak_rss_mb": _peak_rss_mb(),
    }


RAW_READS = (
    "SELECT id, district_id, color, returned_from_elsewhere, return_region_id, arrival_date,"
    " contact_with_case, contact_date, symptoms, temperature, attested_at FROM codes_healthcode",
    "SELECT code_id, day, temperature, symptoms, in_nanning, new_contact, updated_at"
    " FROM checkins_checkin",
    "SELECT code_id, outcome, decided_at, note FROM codes_review",
)


def _raw_read() -> tuple[float, int]:
    """Seconds to read the facts' rows with a plain cursor, and how many rows."""
    from django.db import connection, transaction

    rows = 0
    started = time.perf_counter()
    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection
        for n, sql in enumerate(RAW_READS):
            postgres = connection.vendor == "postgresql"
            cursor = raw.cursor(name=f"bench_read_{n}") if postgres else raw.cursor()
            cursor.execute(sql)
            while chunk := cursor.fetchmany(10_000):
                rows += len(chunk)
            cursor.close()
    return time.perf_counter() - started, rows


def _count_checkins() -> int:
    from healthcode.checkins.models import CheckIn

    return CheckIn.objects.count()


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def print_table(f: dict[str, Any]) -> None:
    n = f"{f['codes']:,}"
    print(f"{'rule-set dry run over ' + n + ' codes (' + f['database'] + ')':<52}")
    if "generate_s" in f:
        print(f"{'  generate the population (s)':<44}{f['generate_s']:>14.1f}")
    print(f"{'    codes / check-ins':<44}{f['codes']:>7,}/{f['checkins']:,}")
    print(f"{'  dry run end to end (s)':<44}{f['dry_run_s']:>14.1f}")
    print(f"{'  dry run codes/s':<44}{f['dry_run_codes_per_s']:>14,.0f}")
    print(f"{'    codes that would change colour':<44}{f['dry_run_changed']:>14,}")
    print(f"{'  of which loading facts, comparing (s)':<44}{f['load_and_compare_s']:>14.1f}")
    print(f"{'  of which rules.decide (s)':<44}{f['decide_only_s']:>14.1f}")
    print(f"{'  baseline: plain-cursor read (s)':<44}{f['raw_read_s']:>14.1f}")
    print(f"{'  dry run / baseline':<44}{f['dry_run_to_raw_read']:>14.2f}")
    print(f"{'  peak RSS of the dry run (MB)':<44}{f['peak_rss_mb']:>14.0f}")


def run(n: int = CODES, days: int = DAYS) -> dict[str, Any]:
    """Standalone: a population of `n` residents in a throw-away database, then measure."""
    with tempfile.TemporaryDirectory(prefix="healthcode-bench-rules-") as tmp:
        vendor, teardown = _setup_django(Path(tmp), own_database=True)
        try:
            from healthcode.codes.population import generate

            generated = generate(residents=n, enterprises=max(1, n // 20), days=days)
            figures = {"database": vendor, "generate_s": generated["seconds"], **measure()}
        finally:
            from django.db import connections

            connections.close_all()
            teardown()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--measure",
        metavar="NOW",
        help="measure on the population in DATABASE_URL at NOW (ISO) and print JSON",
    )
    args = parser.parse_args()
    if args.measure:
        with tempfile.TemporaryDirectory(prefix="healthcode-bench-rules-") as tmp:
            vendor, _teardown = _setup_django(Path(tmp), own_database=False)
            figures = {"database": vendor, **measure(datetime.fromisoformat(args.measure))}
        print(json.dumps(figures, default=str))
        return
    figures = run()
    print_table(figures)
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "bench" / "results" / "rule_dry_run.json"
    out.write_text(json.dumps({"machine": machine, **figures}, indent=2, default=str) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
