"""Benchmark of the roster export (花名册导出, SPEC §6): the whole roster of 1,000,000 health codes
to XLSX and to CSV, through the production code path, against raw writers in the same run.

- Data: the population of `healthcode.codes.population` (the generator `generate_population`
  runs): residents across Nanning's districts with their colours from the rules engine, ~60 %
  of them employees of approved enterprises (so the 企业名称 column's per-chunk lookups run).
  bench/scale.py generates one population of 1,000,000 residents on PostgreSQL per run and
  calls `run_on()` here; run alone (`python bench/roster_export.py [--rows N]`, or `run()`
  from bench/run.py) this generates N codes (BENCH_ROSTER_ROWS, default 1,000,000; one day of
  check-ins) into a throw-away SQLite file in a temporary directory, its own secrets too.
- Ours: `roster_export.start_roster_export_job(...)` as the population's city admin with no
  filter — the job a large export becomes (rows read with `.iterator(chunk_size=2000)`,
  employers fetched per chunk, masked, written by XlsxWriter in constant-memory mode or
  streamed as CSV, progress, audit), to the file under jobs_dir().
- Baseline: the same nine columns from a plain DB-API cursor (fetchmany, server-side on
  PostgreSQL), written by raw XlsxWriter (constant_memory, write_row) and raw csv.writer —
  no masking, labels or employer lookup: the floor any export of these rows stands on.

Every measurement runs in a subprocess of its own, so its peak memory (VmHWM, the high-water
mark of its resident set) is its own; the table shows the process's RSS before the export and
its peak (Django, the connection and the export together).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path, where a module named like one of the
# standard library's (bench/http.py) would shadow it: the project root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_ROWS = 1_000_000
# The city admin account healthcode.codes.population makes.
ADMIN_PHONE = "19900000000"
STEPS = ("ours_xlsx", "ours_csv", "raw_xlsx", "raw_csv")


# --- The parent: one subprocess per step --------------------------------------------------------


def _child_env(tmp: Path) -> dict[str, str]:
    """A standalone run's environment: a throw-away SQLite file and secrets in `tmp`."""
    env = {k: v for k, v in os.environ.items() if k != "HEALTHCODE_DEBUG"}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'roster.sqlite3'}",
            "HEALTHCODE_VAR_DIR": str(tmp),
            "HEALTHCODE_JOBS_DIR": str(tmp / "jobs"),
            "HEALTHCODE_TESTING": "1",
            "HEALTHCODE_TASKS_BACKEND": "immediate",
            "DJANGO_SETTINGS_MODULE": "healthcode.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _child(env: dict[str, str], step: str, rows: int) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--rows", str(rows)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench step {step} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_on(env: dict[str, str], *, database: str) -> dict[str, Any]:
    """Export the population already in the database `env` names (its city admin's roster),
    with our code and with the raw writers; the figures."""
    figures: dict[str, Any] = {"database": database}
    for step in STEPS:
        figures[step] = _child(env, step, 0)
    figures["rows"] = figures["ours_xlsx"]["rows"]
    for fmt in ("xlsx", "csv"):
        ours, raw = figures[f"ours_{fmt}"], figures[f"raw_{fmt}"]
        figures[f"{fmt}_ratio_to_raw"] = ours["rows_per_s"] / raw["rows_per_s"]
    return figures


def run(rows: int | None = None) -> dict[str, Any]:
    """Standalone: generate `rows` codes into a throw-away SQLite database, then export."""
    rows = rows or int(os.environ.get("BENCH_ROSTER_ROWS", DEFAULT_ROWS))
    with tempfile.TemporaryDirectory(prefix="healthcode-roster-bench-") as tmp:
        env = _child_env(Path(tmp))
        generated = _child(env, "generate", rows)
        figures = run_on(env, database="sqlite")
        figures["generate"] = generated
    return figures


def print_table(figures: dict[str, Any]) -> None:
    n = f"{figures['rows']:,}"
    print(f"{'roster export, ' + n + ' codes (' + figures['database'] + ')':<44}")
    if "generate" in figures:
        print(f"{'  generate the codes (s)':<44}{figures['generate']['seconds']:>14.1f}")
    for fmt in ("xlsx", "csv"):
        for who, label in (("ours", "export job"), ("raw", "raw writer")):
            f = figures[f"{who}_{fmt}"]
            print(f"{f'  {fmt.upper()} {label} rows/s':<44}{f['rows_per_s']:>14,.0f}")
            print(
                f"{f'  {fmt.upper()} {label} (s) / peak RSS (MB)':<44}"
                f"{f['seconds']:>8.1f} /{f['peak_rss_mb']:>5.0f}"
            )
        print(
            f"{f'  {fmt.upper()} ours / raw (rows/s)':<44}{figures[f'{fmt}_ratio_to_raw']:>14.2f}"
        )
    ours = figures["ours_xlsx"]
    print(
        f"{'  RSS before / peak, XLSX job (MB)':<44}"
        f"{ours['rss_before_mb']:>8.0f} /{ours['peak_rss_mb']:>5.0f}"
    )


# --- The children -------------------------------------------------------------------------------


def _setup() -> None:
    import django

    django.setup()


def _rss_mb() -> float:
    """The current resident set size (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """This process's peak resident set size. Linux's VmHWM belongs to the process's own memory
    map, which exec replaced; getrusage's maxrss would also count the parent's size at fork
    (bench/run.py has Django and other benchmarks loaded by then)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _generate(rows: int) -> dict[str, Any]:
    """Migrate, then generate `rows` residents (their codes, enterprises, one day)."""
    from django.core.management import call_command

    from healthcode.codes.population import generate

    call_command("migrate", verbosity=0, interactive=False)
    figures = generate(residents=rows, enterprises=max(1, rows // 20), days=1)
    return {"seconds": figures["seconds"], "codes": rows, "rows": figures["rows"]}


def _ours(fmt: str) -> dict[str, Any]:
    """The production path: a background export job of the whole roster, as a city admin."""
    from healthcode.accounts.models import User
    from healthcode.backoffice import roster_export
    from healthcode.backoffice.roster import RosterFilter
    from healthcode.jobs.services import jobs_dir

    admin = User.objects.get(phone=ADMIN_PHONE)
    rss_before = _rss_mb()
    start = time.perf_counter()
    job = roster_export.start_roster_export_job(actor=admin, filters=RosterFilter(), fmt=fmt)
    seconds = time.perf_counter() - start  # the immediate task backend ran it on commit
    job.refresh_from_db()
    if job.status != "done":
        raise RuntimeError(f"the export job ended {job.status}: {job.error}")
    path = jobs_dir() / job.file_name
    rows = job.result["rows"]
    return {
        "seconds": seconds,
        "rows": rows,
        "rows_per_s": rows / seconds,
        "bytes": path.stat().st_size,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
    }


RAW_SQL = (
    "SELECT name, color, address, phone, returned_to_work, employer, returned_from_elsewhere, "
    "return_region_id, arrival_date FROM codes_healthcode ORDER BY id"
)


def _raw(fmt: str, out: Path) -> dict[str, Any]:
    """The floor: the same columns from a plain cursor into a raw writer."""
    import csv

    import xlsxwriter
    from django.db import connection, transaction

    rss_before = _rss_mb()
    start = time.perf_counter()
    rows = 0
    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection
        # PostgreSQL: a server-side cursor, as `.iterator()` uses (a client-side one would load
        # every row). SQLite's cursor reads lazily anyway.
        cursor = raw.cursor(name="bench_raw") if connection.vendor == "postgresql" else raw.cursor()
        cursor.execute(RAW_SQL)
        if fmt == "xlsx":
            workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True})
            sheet = workbook.add_worksheet()
            sheet.write_string(0, 0, "raw baseline")
            row_index = 2
            while chunk := cursor.fetchmany(2000):
                for row in chunk:
                    sheet.write_row(row_index, 0, row)
                    row_index += 1
            workbook.close()
            rows = row_index - 2
        else:
            with open(out, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["raw baseline"])
                while chunk := cursor.fetchmany(2000):
                    writer.writerows(chunk)
                    rows += len(chunk)
        cursor.close()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": rows,
        "rows_per_s": rows / seconds,
        "bytes": out.stat().st_size,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child_main(step: str, rows: int) -> None:
    _setup()
    if step == "generate":
        result = _generate(rows)
    elif step.startswith("ours_"):
        result = _ours(step.removeprefix("ours_"))
    else:
        fmt = step.removeprefix("raw_")
        result = _raw(fmt, Path(os.environ["HEALTHCODE_VAR_DIR"]) / f"raw.{fmt}")
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="number of codes (1,000,000)")
    parser.add_argument("--child", choices=["generate", *STEPS], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(args.child, args.rows or DEFAULT_ROWS)
        return
    figures = run(args.rows)
    print_table(figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
