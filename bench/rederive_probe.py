"""Probe of the batched re-derivation (codes/bulk.py) on PostgreSQL, each figure with its
baseline measured in the same run, on one generated population.

Needs DATABASE_URL naming a PostgreSQL server (`scripts/pg.sh start; DATABASE_URL=$(scripts/pg.sh
url)`): it creates a database of its own beside the named one ("test_<name>"), generates
BENCH_RESIDENTS residents (default 100,000) with BENCH_DAYS days of check-ins (30) by
`healthcode.codes.population`, and measures:

- the per-code path it replaces (`redecide` for each of BENCH_SAMPLE codes, rows locked, in a
  transaction rolled back): codes/s, the baseline;
- `rederive_all` with the rule set in force (nothing to write) in one thread and in two;
- `rederive_all` after publishing a new version (Guangdong red): every code's rule-set version
  is written, some colours change, in one thread and in two; against the floor of one
  set-based `UPDATE` of the same column on every row;
- the sweep with nothing, 1 % and 10 % of the codes due (its cost follows the codes due);
- the dry run of that rule-set change (`rulesets_store.dry_run`).

Seconds, codes/s and the time 1,000,000 codes would take at that rate; the machine's load
average is recorded (the machine may be shared). Prints a table and writes
bench/results/rederive_probe.json. BENCH_PROFILE=1 prints cProfile's top functions of the
two-thread re-derivation after publication.
"""

from __future__ import annotations

import copy
import cProfile
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", "100000"))
DAYS = int(os.environ.get("BENCH_DAYS", "30"))
SAMPLE = int(os.environ.get("BENCH_SAMPLE", "1000"))
MILLION = 1_000_000


def setup(tmp: Path) -> Any:
    import django

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench/rederive_probe.py needs DATABASE_URL naming PostgreSQL")
    os.environ.update(
        HEALTHCODE_VAR_DIR=str(tmp),
        HEALTHCODE_TESTING="1",
        HEALTHCODE_SMS_BACKEND="locmem",
        DJANGO_SETTINGS_MODULE="healthcode.settings",
    )
    django.setup()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return lambda: connection.creation.destroy_test_db(old_name, verbosity=0)


_postmaster: int | None = None


def _postgres_cpu() -> float | None:
    """CPU seconds used so far by the local PostgreSQL cluster: the postmaster, its live
    children and the children it has reaped (connections of finished threads). None when the
    server is not local or /proc is not readable."""
    global _postmaster
    from django.db import connection

    try:
        if _postmaster is None:  # the parent of this connection's server process
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = cursor.fetchone()[0]
            stat = Path("/proc", str(backend), "stat").read_text()
            _postmaster = int(stat.rsplit(")", 1)[1].split()[1])
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == _postmaster:
                total += sum(int(f) for f in fields[11:15]) / tick  # own and reaped children's
            elif int(fields[1]) == _postmaster:
                total += (int(fields[11]) + int(fields[12])) / tick
        return total
    except (OSError, ValueError, IndexError):
        return None


def timed(fn: Any) -> tuple[Any, dict[str, float | None]]:
    """fn's result and its wall seconds, this process's CPU seconds (every thread) and the
    database's: on a shared machine the CPU seconds are what an idle one would need."""
    pg, cpu, started = _postgres_cpu(), time.process_time(), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - started
    pg_after = _postgres_cpu()
    return result, {
        "wall_s": round(wall, 3),
        "python_cpu_s": round(time.process_time() - cpu, 3),
        "postgres_cpu_s": round(pg_after - pg, 3) if pg is not None and pg_after else None,
    }


def figures(
    label: str, codes: int, times: dict[str, Any], *, scale: bool = True, **extra: Any
) -> dict[str, Any]:
    """One line of the table; with `scale`, the seconds 1,000,000 codes would take at the
    measured rate (wall, and CPU: Python's plus PostgreSQL's)."""
    wall, cpu = times["wall_s"], times["python_cpu_s"] + (times["postgres_cpu_s"] or 0)
    row = {"codes": codes, **times, "codes_per_s": round(codes / wall) if wall else 0, **extra}
    line = (
        f"{label:<56}{wall:>8.2f} s {row['codes_per_s']:>8,}/s  cpu {times['python_cpu_s']:>6.2f}"
        f" + {times['postgres_cpu_s'] or 0:>6.2f} s"
    )
    if scale and codes:
        row["million_wall_s"] = round(wall * MILLION / codes, 1)
        row["million_cpu_s"] = round(cpu * MILLION / codes, 1)
        line += f"  1M: {row['million_wall_s']:>5,.0f} s wall, {row['million_cpu_s']:>5,.0f} s cpu"
    print(line, flush=True)
    return row


def publish(version: int, color: str) -> None:
    from healthcode.codes import rules, rulesets_store
    from healthcode.codes.models import RuleSetVersion

    data = copy.deepcopy(rules.load_rule_set("default").to_dict())
    data["version"] = version
    data["rules"]["return_region"]["regions"].append({"code": "440000", "color": color})
    RuleSetVersion.objects.create(rule_set_id=data["id"], version=version, data=data)
    rulesets_store.clear_cache()


def measure() -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from healthcode.codes import population, rulesets_store, services
    from healthcode.codes.models import HealthCode

    results: dict[str, Any] = {}
    started = time.perf_counter()
    population.generate(residents=RESIDENTS, enterprises=RESIDENTS // 20, days=DAYS)
    seconds = time.perf_counter() - started
    n = HealthCode.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM checkins_checkin")
        checkins = cursor.fetchone()[0]
    results["population"] = {"codes": n, "checkins": checkins, "generate_s": round(seconds, 1)}
    print(f"{n:,} codes, {checkins:,} check-ins generated in {seconds:.0f} s", flush=True)

    sample = list(HealthCode.objects.order_by("?").values_list("pk", flat=True)[:SAMPLE])
    with transaction.atomic():
        now = timezone.now()

        def per_code() -> None:
            for pk in sample:
                with transaction.atomic():
                    code = HealthCode.objects.select_for_update().get(pk=pk)
                    services.redecide(code, cause="rule_set", now=now)

        _, times = timed(per_code)
        transaction.set_rollback(True)
    results["baseline_redecide_per_code"] = figures(
        "baseline: redecide code by code (a sample)", len(sample), times
    )

    for workers in (1, 2):
        (done, changed), times = timed(
            lambda w=workers: services.rederive_all(cause="rule_set", workers=w)
        )
        results[f"rederive_all_unchanged_{workers}_threads"] = figures(
            f"rederive_all, rule set in force, {workers} thread(s)", done, times, changed=changed
        )

    profile = os.environ.get("BENCH_PROFILE") == "1"
    for workers, version, color in ((1, 2, "red"), (2, 3, "yellow")):
        publish(version, color)
        profiler = cProfile.Profile() if profile and workers == 2 else None
        if profiler:
            profiler.enable()
        (done, changed), times = timed(
            lambda w=workers: services.rederive_all(cause="rule_set", workers=w)
        )
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        results[f"rederive_all_new_version_{workers}_threads"] = figures(
            f"rederive_all after publication v{version}, {workers} thread(s)",
            done,
            times,
            changed=changed,
        )
    with transaction.atomic():
        with connection.cursor() as cursor:
            _, times = timed(
                lambda: cursor.execute(
                    "UPDATE codes_healthcode SET rule_set_version = rule_set_version + 1,"
                    " updated_at = now()"
                )
            )
        transaction.set_rollback(True)
    results["floor_one_update_of_every_row"] = figures(
        "floor: one set-based UPDATE of every code's row", n, times
    )

    for share in (0, 1, 10):
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE codes_healthcode SET next_change_at = %s WHERE id %% 100 < %s",
                [now - timedelta(seconds=1), share],
            )
        swept, times = timed(lambda now=now: services.sweep(now=now))
        results[f"sweep_{share}_percent_due"] = figures(
            f"sweep, {share} % due ({swept:,} codes re-derived)", swept, times, scale=False
        )

    data = copy.deepcopy(rulesets_store.rule_set_in_force().to_dict())
    data["version"] += 1
    data["rules"]["return_region"]["regions"][-1]["color"] = "red"
    dry, times = timed(lambda: rulesets_store.dry_run(data=data))
    results["dry_run"] = figures(
        "dry run of a rule-set change", dry["codes"], times, changed=dry["changed"]
    )
    return results


def main() -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="healthcode-rederive-") as tmp:
        teardown = setup(Path(tmp))
        try:
            results = measure()
        finally:
            from django.db import connections

            connections.close_all()
            teardown()
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = ROOT / "bench" / "results" / "rederive_probe.json"
    out.write_text(json.dumps({"machine": machine, **results}, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
