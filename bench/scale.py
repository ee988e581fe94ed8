"""Benchmarks at the scale of one million residents on PostgreSQL (issue 6), each against a
baseline measured in the same run, on one generated population.

Starts its own PostgreSQL cluster (scripts/pg.sh, HEALTHCODE_PG_DIR=/tmp/healthcode-pg-bench.<pid>,
always stopped on the way out), migrates, generates BENCH_RESIDENTS residents (default
1,000,000), BENCH_ENTERPRISES enterprises (50,000) and BENCH_DAYS days of check-ins (30) with
`healthcode.codes.population` — once — and measures on it:

1. the generator's rows/s (end to end: planning, the rules engine, COPY, index and constraint
   rebuild, ANALYZE) against a raw COPY of the same rows: each table's rows copied out to a
   file (`COPY (SELECT …) TO STDOUT`) and copied back into a bare table of the same columns
   (`CREATE TABLE … (LIKE …)`, no index, no constraint), timed alone; goal ≥ 25 %;
2. the dry run of a rule-set change (Guangdong red) over every code (bench/rule_dry_run.py),
   against the time spent in `rules.decide` alone in the same pass;
3. the roster export of every code to XLSX and CSV as the city admin (bench/roster_export.py):
   rows/s and peak memory against raw XlsxWriter and csv writers of the same rows;
4. the full re-derivation of every code (`codes.services.rederive_all`, the rule set in force,
   at the generation's time: nothing should change — a check of the generator too), seconds
   and codes/s; goal ≤ 60 s;
5. check-in ingestion through the service layer (`checkins.services.record_checkin`, a sample
   of BENCH_INGEST (2,000) codes) against a raw COPY of the same rows;
6. the colour sweep (`codes.services.sweep`) with nothing due, and with ~1 % of the codes due
   (at the instant by which 1 % of them have a time-based change due): its cost grows with the
   codes that are due, not with the population.

Prints a table and writes bench/results/scale.json with the machine's description. Every
Django step runs in a subprocess of its own (its peak memory is its own). Quick run:
BENCH_RESIDENTS=20000 BENCH_ENTERPRISES=1000 BENCH_DAYS=5 .venv/bin/python bench/scale.py
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path, where a module named like one of the
# standard library's (bench/http.py) would shadow it: the project root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", "1000000"))
ENTERPRISES = int(os.environ.get("BENCH_ENTERPRISES", "50000"))
DAYS = int(os.environ.get("BENCH_DAYS", "30"))
INGEST = int(os.environ.get("BENCH_INGEST", "2000"))
SEED = 20200221
HEALTHY = {"temperature": "36.5", "symptoms": [], "in_nanning": True, "new_contact": False}
# Checkpoints of a multi-gigabyte load are not what is measured here.
PG_SETTINGS = {"max_wal_size": "8GB", "checkpoint_timeout": "30min"}


def log(message: str) -> None:
    print(f"[scale {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- The parent: the cluster, the steps, the table ----------------------------------------------


class Cluster:
    """A throw-away PostgreSQL cluster of this run (scripts/pg.sh)."""

    def __init__(self) -> None:
        self.env = {**os.environ, "HEALTHCODE_PG_DIR": f"/tmp/healthcode-pg-bench.{os.getpid()}"}
        self.url = ""

    def _pg(self, action: str) -> str:
        done = subprocess.run(
            [str(ROOT / "scripts" / "pg.sh"), action],
            env=self.env,
            stdout=subprocess.PIPE,  # its messages (stderr) pass through
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def start(self) -> str:
        # pg.sh probes a port by connecting to it, which says "free" for a port a closed
        # cluster's connections still hold in TIME-WAIT (up to a minute), where the new
        # server can't bind: a few tries, ten seconds apart.
        for attempt in range(1, 10):
            try:
                self._pg("start")
                break
            except subprocess.CalledProcessError:
                if attempt == 9:
                    raise
                log(f"pg.sh start failed (attempt {attempt}); trying again in 10 s")
                time.sleep(10)
        self.url = self._pg("url")
        import psycopg

        with psycopg.connect(self.superuser_url, autocommit=True) as conn:
            for name, value in PG_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")
        return self.url

    @property
    def superuser_url(self) -> str:
        return self.url.replace("://healthcode@", "://postgres@", 1)

    def stop(self) -> None:
        subprocess.run(
            [str(ROOT / "scripts" / "pg.sh"), "stop"],
            env=self.env,
            capture_output=True,
            check=False,
        )


def child_env(url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HEALTHCODE_DEBUG"}
    env.update(
        {
            "DATABASE_URL": url,
            "HEALTHCODE_VAR_DIR": str(tmp),
            "HEALTHCODE_JOBS_DIR": str(tmp / "jobs"),
            "HEALTHCODE_TESTING": "1",
            "HEALTHCODE_TASKS_BACKEND": "immediate",
            "DJANGO_SETTINGS_MODULE": "healthcode.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def run_child(env: dict[str, str], command: list[str]) -> dict[str, Any]:
    """A step in a process of its own: its stderr passes through, its last stdout line is the
    JSON of its figures."""
    done = subprocess.run(
        [sys.executable, *command], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench step {command} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def step(env: dict[str, str], name: str, *args: str) -> dict[str, Any]:
    return run_child(env, [str(Path(__file__).resolve()), "--child", name, *args])


def raw_copy(url: str, tables: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Each generated table's rows copied out to a file, then timed copying back in (1 MiB
    writes) into a bare table of the same columns: the floor of loading those rows."""
    import psycopg

    figures: dict[str, Any] = {}
    total_rows, total_s = 0, 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            path = tmp / f"{table}.copy"
            with conn.cursor() as cursor:
                with (
                    open(path, "wb") as out,
                    cursor.copy(f'COPY (SELECT * FROM "{table}") TO STDOUT') as copy,
                ):
                    for data in copy:
                        out.write(data)
                cursor.execute(
                    f'CREATE TABLE "bench_raw_{table}" (LIKE "{table}" INCLUDING DEFAULTS)'
                )
                started = time.perf_counter()
                rows = 0
                with (
                    open(path, "rb") as source,
                    cursor.copy(f'COPY "bench_raw_{table}" FROM STDIN') as copy,
                ):
                    while data := source.read(1 << 20):
                        copy.write(data)
                seconds = time.perf_counter() - started
                cursor.execute(f'SELECT count(*) FROM "bench_raw_{table}"')
                rows = cursor.fetchone()[0]
                cursor.execute(f'DROP TABLE "bench_raw_{table}"')
            size = path.stat().st_size
            path.unlink()
            figures[table] = {
                "rows": rows,
                "seconds": round(seconds, 3),
                "rows_per_s": round(rows / seconds) if seconds else 0,
                "bytes_per_row": round(size / rows) if rows else 0,
            }
            total_rows += rows
            total_s += seconds
            log(f"raw COPY {table}: {rows:,} rows in {seconds:.1f} s")
    return {
        "tables": figures,
        "rows": total_rows,
        "seconds": round(total_s, 3),
        "rows_per_s": round(total_rows / total_s) if total_s else 0,
    }


def disk_sizes(url: str, tables: dict[str, Any]) -> dict[str, Any]:
    """Each generated table's size on disk (heap, indexes; partitions summed), bytes per row:
    the storage side of docs/scaling.md."""
    import psycopg

    figures: dict[str, Any] = {}
    with psycopg.connect(url) as conn:
        for table, generated in tables.items():
            # A partitioned table's own size is 0: its partitions hold the rows (a plain table
            # has no partition tree, hence the UNION).
            heap, total = conn.execute(
                "SELECT coalesce(sum(pg_table_size(relid)), 0)::bigint, "
                "coalesce(sum(pg_total_relation_size(relid)), 0)::bigint "
                "FROM (SELECT relid FROM pg_partition_tree(%s::regclass) "
                "UNION SELECT %s::regclass) AS parts",
                [table, table],
            ).fetchone()
            rows = generated.get("rows") or 0
            figures[table] = {
                "heap_mb": round(heap / 2**20, 1),
                "total_mb": round(total / 2**20, 1),
                "bytes_per_row": round(total / rows) if rows else None,
            }
    return figures


def machine(url: str) -> dict[str, Any]:
    import psycopg

    from bench.machine import describe

    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in (
                "shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size",
                "fsync", "synchronous_commit", "full_page_writes", "max_parallel_workers",
            )
        }  # fmt: skip
    return {**describe(), "postgresql": version, "postgresql_settings": settings}


def measure_all() -> dict[str, Any]:
    from bench import roster_export

    cluster = Cluster()
    results: dict[str, Any] = {
        "sizes": {"residents": RESIDENTS, "enterprises": ENTERPRISES, "days": DAYS}
    }
    started = time.perf_counter()
    try:
        url = cluster.start()
        log(f"PostgreSQL at {url} ({cluster.env['HEALTHCODE_PG_DIR']})")
        results["machine"] = machine(url)
        with tempfile.TemporaryDirectory(prefix="healthcode-bench-scale-") as tmp_name:
            tmp = Path(tmp_name)
            env = child_env(url, tmp)
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
                env=env,
                cwd=ROOT,
                check=True,
            )
            log(f"generating {RESIDENTS:,} residents, {ENTERPRISES:,} enterprises, {DAYS} days")
            generated = step(env, "generate")
            results["generate"] = generated
            now = generated["now"]
            results["disk"] = disk_sizes(url, generated["tables"])
            results["raw_copy"] = raw_copy(url, generated["tables"], tmp)
            log("dry run of a rule-set change")
            results["dry_run"] = run_child(
                env, [str(ROOT / "bench" / "rule_dry_run.py"), "--measure", now]
            )
            log("roster export, XLSX and CSV, ours and raw")
            results["roster_export"] = roster_export.run_on(env, database="postgresql")
            log("full re-derivation")
            results["rederive"] = step(env, "rederive", "--now", now)
            log(f"check-in ingestion, {INGEST:,} check-ins")
            results["ingest"] = step(env, "ingest", "--now", now)
            log("colour sweep")
            results["sweep"] = step(env, "sweep", "--now", now)
    finally:
        cluster.stop()
    results["total_s"] = round(time.perf_counter() - started, 1)
    return results


def ratios(results: dict[str, Any]) -> None:
    generated, raw = results["generate"], results["raw_copy"]
    results["generate_ratio_to_raw_copy"] = generated["rows_per_s"] / raw["rows_per_s"]
    ingest = results["ingest"]
    ingest["ratio_to_raw_copy"] = ingest["rows_per_s"] / ingest["raw_copy_rows_per_s"]


def line(label: str, value: str) -> None:
    print(f"{label:<52}{value:>16}")


def print_table(results: dict[str, Any]) -> None:
    sizes, generated, raw = results["sizes"], results["generate"], results["raw_copy"]
    print(
        f"scale: {sizes['residents']:,} residents, {sizes['enterprises']:,} enterprises, "
        f"{sizes['days']} days on PostgreSQL {results['machine']['postgresql']}"
    )
    print(f"{'figure':<52}{'value':>16}")
    line("generator: rows", f"{generated['rows']:,}")
    line("generator: seconds, end to end", f"{generated['seconds']:.1f}")
    line("generator: rows/s", f"{generated['rows_per_s']:,}")
    line("raw COPY of the same rows (bare tables): rows/s", f"{raw['rows_per_s']:,}")
    line("  generator / raw COPY (goal >= 0.25)", f"{results['generate_ratio_to_raw_copy']:.2f}")
    for table, f in generated["tables"].items():
        base = raw["tables"].get(table, {}).get("rows_per_s") or 0
        ratio = f" ({f['rows_per_s'] / base:.2f})" if base else ""
        line(f"  {table} rows/s (to raw)", f"{f['rows_per_s']:,}{ratio}")
    phases = generated["phases"]
    planning = phases["plan_people_s"] + phases["plan_enterprises_s"] + phases["plan_risks_s"]
    line("  planning (s)", f"{planning:.1f}")
    line("  COPY phase (s)", f"{phases['copy_s']:.1f}")
    line("    of which replaying risky codes (rules engine) (s)", f"{phases['replay_s']:.1f}")
    line(
        "  indexes + constraints rebuilt (s)",
        f"{phases.get('indexes_s', 0) + phases.get('foreign_keys_s', 0):.1f}",
    )
    line("  ANALYZE (s)", f"{phases['analyze_s']:.1f}")
    line("  generator peak RSS (MB)", f"{generated['peak_rss_mb']:.0f}")
    colors = generated["colors"]
    line(
        "  codes green / yellow / red",
        f"{colors['green']:,}/{colors['yellow']:,}/{colors['red']:,}",
    )

    ingest = results["ingest"]
    line(f"check-in via record_checkin, {ingest['rows']:,} rows/s", f"{ingest['rows_per_s']:,.0f}")
    line("  raw COPY of the same rows, rows/s", f"{ingest['raw_copy_rows_per_s']:,.0f}")
    line("  service / raw COPY", f"{ingest['ratio_to_raw_copy']:.4f}")

    sweep = results["sweep"]
    for key, label in (("none_due", "nothing due"), ("some_due", "~1 % due")):
        s = sweep[key]
        line(f"colour sweep, {label}: codes due / re-derived", f"{s['due']:,}/{s['swept']:,}")
        line(f"  seconds ({sweep['codes']:,} codes)", f"{s['seconds']:.2f}")
        if s["swept"]:
            line("  due codes/s", f"{s['swept'] / s['seconds']:,.0f}")

    rederive = results["rederive"]
    line(
        "full re-derivation (s)",
        f"{rederive['seconds']:.1f}",
    )
    line("  codes/s (goal: 1,000,000 in <= 60 s)", f"{rederive['codes_per_s']:,.0f}")
    line("  codes re-derived / colour changed", f"{rederive['codes']:,}/{rederive['changed']:,}")
    published = rederive.get("after_publication")
    if published:
        line("full re-derivation after a publication (s)", f"{published['seconds']:.1f}")
        line("  codes/s (every row written)", f"{published['codes_per_s']:,.0f}")
        line("  codes re-derived / colour changed",
             f"{published['codes']:,}/{published['changed']:,}")

    dry = results["dry_run"]
    line(f"rule-set dry run over {dry['codes']:,} codes (s)", f"{dry['dry_run_s']:.1f}")
    line("  codes/s", f"{dry['dry_run_codes_per_s']:,.0f}")
    line("  of which in rules.decide (s)", f"{dry['decide_only_s']:.1f}")
    line("  baseline: plain read of every fact row (s)", f"{dry['raw_read_s']:.1f}")
    line("    fact rows (codes, check-ins, reviews)", f"{dry['raw_read_rows']:,}")
    line("  dry run / baseline", f"{dry['dry_run_to_raw_read']:.2f}")
    line("  codes that would change colour", f"{dry['dry_run_changed']:,}")
    line("  peak RSS (MB)", f"{dry['peak_rss_mb']:.0f}")

    export = results["roster_export"]
    for fmt in ("xlsx", "csv"):
        ours, base = export[f"ours_{fmt}"], export[f"raw_{fmt}"]
        line(
            f"roster export {fmt.upper()}, {ours['rows']:,} rows: rows/s",
            f"{ours['rows_per_s']:,.0f}",
        )
        line(f"  raw {fmt.upper()} writer rows/s", f"{base['rows_per_s']:,.0f}")
        line("  ours / raw (goal >= 0.80)", f"{export[f'{fmt}_ratio_to_raw']:.2f}")
        line(
            "  peak RSS ours / raw (MB; goal <= 100)",
            f"{ours['peak_rss_mb']:.0f}/{base['peak_rss_mb']:.0f}",
        )
    line("whole run (s)", f"{results['total_s']:.0f}")


def main() -> None:
    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally that stops the cluster

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    results = measure_all()
    ratios(results)
    print_table(results)
    out = ROOT / "bench" / "results" / "scale.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"written {out.relative_to(ROOT)}")


# --- The children (Django set up on the cluster) --------------------------------------------------


def _setup() -> None:
    import django

    django.setup()


def _peak_rss_mb() -> float:
    try:
        for text in Path("/proc/self/status").read_text().splitlines():
            if text.startswith("VmHWM:"):
                return int(text.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def child_generate() -> dict[str, Any]:
    from healthcode.codes.population import generate

    figures = generate(
        residents=RESIDENTS, enterprises=ENTERPRISES, days=DAYS, seed=SEED, progress=log
    )
    figures["peak_rss_mb"] = _peak_rss_mb()
    return figures


def child_rederive(now: datetime) -> dict[str, Any]:
    """Every code re-derived with the rule set in force, at the generation's time; then again
    after a publication."""
    from healthcode.codes.services import rederive_all

    started = time.perf_counter()
    codes, changed = rederive_all(cause="rule_set", now=now)
    seconds = time.perf_counter() - started
    figures = {
        "codes": codes,
        "changed": changed,
        "seconds": seconds,
        "codes_per_s": codes / seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }
    # After a publication: the dry run's candidate (Guangdong red, one version up) put in
    # force as publish_rule_set does, so every code's stored rule-set version changes and
    # every row is written, plus the colour changes with their history and audit records.
    from bench.rule_dry_run import candidate
    from healthcode.codes import rulesets_store
    from healthcode.codes.models import RuleSetVersion

    data = candidate()
    RuleSetVersion.objects.create(
        rule_set_id=data["id"], version=data["version"], data=data,
        note="bench: published without a dry run",
    )
    rulesets_store.clear_cache()
    started = time.perf_counter()
    codes, changed = rederive_all(cause="rule_set", now=now)
    seconds = time.perf_counter() - started
    figures["after_publication"] = {
        "codes": codes, "changed": changed, "seconds": seconds, "codes_per_s": codes / seconds,
    }
    return figures


def child_ingest(now: datetime) -> dict[str, Any]:
    """BENCH_INGEST check-ins through record_checkin (codes without one today), then the raw
    COPY of the same rows into a bare table, repeated for a stable rate."""
    from django.db import connection
    from django.utils import timezone

    from healthcode.checkins.models import CheckIn
    from healthcode.checkins.services import record_checkin
    from healthcode.codes.models import HealthCode

    at = now + timedelta(minutes=1)
    today = timezone.localdate(at)
    codes = list(
        HealthCode.objects.exclude(checkins__day=today)
        .select_related("account")
        .order_by("?")[:INGEST]
    )
    first_id = (CheckIn.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    started = time.perf_counter()
    for code in codes:
        record_checkin(code=code, actor=code.account, data=HEALTHY, now=at)
    seconds = time.perf_counter() - started
    rows = len(codes)
    table = CheckIn._meta.db_table
    connection.ensure_connection()
    raw = connection.connection
    repeat = 20
    with raw.cursor() as cursor:
        buffer = bytearray()
        with cursor.copy(
            f'COPY (SELECT * FROM "{table}" WHERE day = %s AND id >= %s) TO STDOUT',
            [today, first_id],
        ) as copy:
            for data in copy:
                buffer += data
        cursor.execute(f'CREATE TEMP TABLE bench_raw_checkins (LIKE "{table}" INCLUDING DEFAULTS)')
        copy_started = time.perf_counter()
        for _ in range(repeat):
            with cursor.copy("COPY bench_raw_checkins FROM STDIN") as copy:
                copy.write(bytes(buffer))
        raw_s = time.perf_counter() - copy_started
        cursor.execute("SELECT count(*) FROM bench_raw_checkins")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_raw_checkins")
    raw.commit()
    if copied != rows * repeat:
        raise RuntimeError(f"raw COPY baseline copied {copied} rows, expected {rows * repeat}")
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "raw_copy_rows": copied,
        "raw_copy_seconds": raw_s,
        "raw_copy_rows_per_s": copied / raw_s,
    }


def child_sweep(now: datetime) -> dict[str, Any]:
    """The sweep at the generation's time (nothing due), then at the instant by which ~1 % of
    the codes have a time-based change due."""
    from healthcode.codes import services
    from healthcode.codes.models import HealthCode

    total = HealthCode.objects.count()

    def sweep_at(at: datetime) -> dict[str, Any]:
        due = HealthCode.objects.filter(next_change_at__lte=at).count()
        started = time.perf_counter()
        swept = services.sweep(now=at)
        return {
            "at": at.isoformat(),
            "due": due,
            "swept": swept,
            "seconds": time.perf_counter() - started,
        }

    none_due = sweep_at(now)
    pending = HealthCode.objects.filter(next_change_at__gt=now).order_by("next_change_at")
    wanted = max(1, total // 100)
    instants = list(pending.values_list("next_change_at", flat=True)[wanted - 1 : wanted])
    if not instants:  # fewer than 1 % have a change ahead: all of them
        instants = [pending.reverse().values_list("next_change_at", flat=True).first() or now]
    return {
        "codes": total,
        "none_due": none_due,
        "some_due": sweep_at(instants[0]),
        "with_next_change": HealthCode.objects.filter(next_change_at__isnull=False).count(),
    }


def child_main(name: str, now: str | None) -> None:
    _setup()
    at = datetime.fromisoformat(now) if now else None
    if name == "generate":
        result = child_generate()
    elif name == "rederive":
        result = child_rederive(at)  # type: ignore[arg-type]
    elif name == "ingest":
        result = child_ingest(at)  # type: ignore[arg-type]
    else:
        result = child_sweep(at)  # type: ignore[arg-type]
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["generate", "rederive", "ingest", "sweep"])
    parser.add_argument("--now")
    arguments = parser.parse_args()
    if arguments.child:
        child_main(arguments.child, arguments.now)
    else:
        main()
