"""Benchmark of the roster export (花名册导出, SPEC §6): the whole roster of 1,000,000 health codes
to XLSX and to CSV, through the production code path, against raw writers in the same run.

- Database: a throw-away SQLite file in a temporary directory (its own secrets too); or the
  PostgreSQL database named by DATABASE_URL when it is set (it must hold no health codes: the
  benchmark fills it and empties the tables it filled at the end).
- Data: N codes (BENCH_ROSTER_ROWS, default 1,000,000; `--rows` when run alone) generated
  fast — raw `executemany` in batches with values prepared once per distinct value (one
  encrypted ID number shared by every row: the export never decrypts it) — across Nanning's
  districts, 90 % green / 7 % yellow / 3 % red, the yellow and red back from elsewhere; 10 % of
  them employees of 500 approved enterprises (so the 企业名称 column's per-chunk lookups run).
- Ours: `roster_export.start_roster_export_job(...)` as a city admin with no filter — the job
  a large export becomes (rows read with `.iterator(chunk_size=2000)`, employers fetched per
  chunk, masked, written by XlsxWriter in constant-memory mode or streamed as CSV, progress,
  audit), to the file under jobs_dir().
- Baseline: the same nine columns from a plain DB-API cursor (fetchmany, server-side on
  PostgreSQL), written by raw XlsxWriter (constant_memory, write_row) and raw csv.writer —
  no masking, labels or employer lookup: the floor any export of these rows stands on.

Every measurement runs in a subprocess of its own, so its peak memory (VmHWM, the high-water
mark of its resident set) is its own; the table shows the process's RSS before the export and
its peak (Django, the connection and the export together).

Run alone (`python bench/roster_export.py [--rows N]`) or from bench/run.py, which records the
figures in bench/results/core.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_ROWS = 1_000_000
BATCH = 10_000
ENTERPRISES = 500
EMPLOYED_EVERY = 10
ADMIN_PHONE = "13800000999"
ACCOUNTS = 1000
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜欧阳"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉兰萍红娥玲芬燕"
ROADS = ["民族大道", "朝阳路", "星光大道", "友爱路", "大学路", "五一路", "白沙大道", "江南路"]
# Captured when this module is imported (bench/run.py imports it before another benchmark
# points DATABASE_URL at its own throw-away database).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
STEPS = ("ours_xlsx", "ours_csv", "raw_xlsx", "raw_csv")


# --- The parent: one subprocess per step --------------------------------------------------------


def _child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HEALTHCODE_DEBUG"}
    env.update(
        {
            "DATABASE_URL": DATABASE_URL or f"sqlite:///{tmp / 'roster.sqlite3'}",
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


def run(rows: int | None = None) -> dict[str, Any]:
    """Generate, export with our code and with the raw writers, and return the figures."""
    rows = rows or int(os.environ.get("BENCH_ROSTER_ROWS", DEFAULT_ROWS))
    with tempfile.TemporaryDirectory(prefix="healthcode-roster-bench-") as tmp:
        env = _child_env(Path(tmp))
        figures: dict[str, Any] = {
            "rows": rows,
            "database": "postgresql" if DATABASE_URL.startswith("postgres") else "sqlite",
            "generate": _child(env, "generate", rows),
        }
        try:
            for step in STEPS:
                figures[step] = _child(env, step, rows)
        finally:
            if DATABASE_URL:
                _child(env, "cleanup", rows)
    for fmt in ("xlsx", "csv"):
        ours, raw = figures[f"ours_{fmt}"], figures[f"raw_{fmt}"]
        figures[f"{fmt}_ratio_to_raw"] = ours["rows_per_s"] / raw["rows_per_s"]
    return figures


def print_table(figures: dict[str, Any]) -> None:
    n = f"{figures['rows']:,}"
    gen = figures["generate"]
    print(f"{'roster export, ' + n + ' codes (' + figures['database'] + ')':<44}")
    print(f"{'  generate the codes (s)':<44}{gen['seconds']:>14.1f}")
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
    """Migrate, then insert `rows` codes and their employments with raw executemany."""
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from healthcode.accounts.models import User
    from healthcode.backoffice.models import AdminRole
    from healthcode.codes.models import HealthCode
    from healthcode.enterprises.models import Employee, Enterprise
    from healthcode.lib.crypto import encrypt_field
    from healthcode.regions import services as regions
    from healthcode.testing import credit_code

    call_command("migrate", verbosity=0, interactive=False)
    if HealthCode.objects.exists():
        raise RuntimeError("the benchmark database already holds health codes: use an empty one")
    start = time.perf_counter()
    admin = User.objects.create_user(phone=ADMIN_PHONE)
    AdminRole.objects.create(user=admin, kind="city_admin")
    accounts = User.objects.bulk_create(
        [User(phone=f"1370{i:07d}") for i in range(ACCOUNTS)], batch_size=1000
    )
    account_ids = [a.pk for a in User.objects.filter(phone__startswith="1370").order_by("pk")]
    assert len(account_ids) == len(accounts)
    districts = [(r.code, r.name) for r in regions.nanning_districts()]
    enterprises = Enterprise.objects.bulk_create(
        [
            Enterprise(
                name=f"南宁基准{i:03d}有限公司",
                credit_code=credit_code(i + 1),
                district_id=districts[i % len(districts)][0],
                industry="C",
                department="gxj",
                address="南宁市",
                contact_name="基准",
                contact_phone=ADMIN_PHONE,
                status="approved",
            )
            for i in range(ENTERPRISES)
        ]
    )
    enterprise_ids = [e.pk for e in Enterprise.objects.order_by("pk")]
    assert len(enterprise_ids) == len(enterprises)

    def prep(model: Any, column: str, value: Any) -> Any:
        field = next(f for f in model._meta.concrete_fields if f.column == column)
        return field.get_db_prep_save(value, connection)

    code_columns = [f.column for f in HealthCode._meta.concrete_fields]
    now = datetime(2020, 2, 24, 9, tzinfo=UTC)
    moment = prep(HealthCode, "created_at", now)
    empty_json = prep(HealthCode, "symptoms", [])
    reasons = {
        color: prep(HealthCode, "reasons", [{"rule": f"bench-{color}", "text_zh": color}])
        for color in ("green", "yellow", "red")
    }
    temperature = prep(HealthCode, "temperature", 36.5)
    encrypted = encrypt_field("450103199003071234", context="id_number")
    arrivals = {
        d: prep(HealthCode, "arrival_date", date(2020, 1, 20) + timedelta(days=d))
        for d in range(30)
    }
    uuid_prep = (lambda u: u.hex) if connection.vendor == "sqlite" else (lambda u: u)
    addresses = {(code, road): f"南宁市{name}{road}" for code, name in districts for road in ROADS}

    def code_row(i: int) -> tuple[Any, ...]:
        district = districts[i % len(districts)][0]
        color = "red" if i % 33 == 0 else "yellow" if i % 14 == 0 else "green"
        away = color != "green"
        given = GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
        second = GIVEN[(i // 1054) % len(GIVEN)] if i % 5 else ""
        name = SURNAMES[i % len(SURNAMES)] + given + second
        phone = f"139{i:08d}"
        values = {
            "id": i,
            "public_id": uuid_prep(uuid.uuid4()),
            "account_id": account_ids[i % ACCOUNTS],
            "relation": "self",
            "name": name,
            "id_number_encrypted": encrypted,
            "id_number_index": hashlib.blake2b(str(i).encode(), digest_size=32).hexdigest(),
            "id_number_masked": "450103********1234",
            "phone": phone,
            "address": f"{addresses[(district, ROADS[i % len(ROADS)])]}{i % 997 + 1}号",
            "district_id": district,
            "returned_to_work": i % 3 == 0,
            "employer": "" if i % 4 else "自填单位有限公司",
            "returned_from_elsewhere": away,
            "return_region_id": ("420100" if color == "red" else "440300") if away else None,
            "arrival_date": arrivals[i % 30] if away else None,
            "contact_with_case": False,
            "contact_date": None,
            "symptoms": empty_json,
            "temperature": temperature,
            "attested_at": moment,
            "color": color,
            "reasons": reasons[color],
            "path_to_green": empty_json,
            "rule_set_id": "default",
            "rule_set_version": 1,
            "next_change_at": None,
            "color_since": moment,
            "created_at": moment,
            "updated_at": moment,
        }
        return tuple(values[c] for c in code_columns)

    quote = connection.ops.quote_name
    code_sql = (
        f"INSERT INTO {quote(HealthCode._meta.db_table)} ({', '.join(map(quote, code_columns))}) "
        f"VALUES ({', '.join(['%s'] * len(code_columns))})"
    )
    employee_columns = [f.column for f in Employee._meta.concrete_fields if f.column != "id"]
    employee_sql = (
        f"INSERT INTO {quote(Employee._meta.db_table)} "
        f"({', '.join(map(quote, employee_columns))}) "
        f"VALUES ({', '.join(['%s'] * len(employee_columns))})"
    )
    if connection.vendor == "sqlite":
        # A throw-away file: no need to survive a power cut while filling it, and a page cache
        # large enough for the indexes' random inserts (ID-number index, public id, phone).
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -524288")  # 512 MB
    employees = 0
    for first in range(1, rows + 1, BATCH):
        batch = [code_row(i) for i in range(first, min(first + BATCH, rows + 1))]
        staff = [
            (
                enterprise_ids[i % ENTERPRISES],
                row[4],
                row[8],
                i,
                "",
                i % 3 == 0,
                None,
                False,
                True,
                moment,
                None,
            )  # fmt: skip
            for i, row in zip(range(first, first + len(batch)), batch, strict=True)
            if i % EMPLOYED_EVERY == 0
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(code_sql, batch)
            if staff:
                cursor.executemany(employee_sql, staff)
        employees += len(staff)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [HealthCode, Employee]):
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    return {
        "seconds": time.perf_counter() - start,
        "codes": rows,
        "employees": employees,
        "enterprises": ENTERPRISES,
    }


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


def _cleanup() -> None:
    """Empty what the benchmark filled in a PostgreSQL database given by DATABASE_URL."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE enterprises_employee, codes_healthcode, enterprises_enterprise, "
            "jobs_job, audit_auditrecord, backoffice_adminrole CASCADE"
        )
        cursor.execute(
            "DELETE FROM accounts_user WHERE phone LIKE '1370%%' OR phone = %s", [ADMIN_PHONE]
        )


def _child_main(step: str, rows: int) -> None:
    _setup()
    if step == "generate":
        result = _generate(rows)
    elif step == "cleanup":
        _cleanup()
        result = {}
    elif step.startswith("ours_"):
        result = _ours(step.removeprefix("ours_"))
    else:
        fmt = step.removeprefix("raw_")
        result = _raw(fmt, Path(os.environ["HEALTHCODE_VAR_DIR"]) / f"raw.{fmt}")
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="number of codes (1,000,000)")
    parser.add_argument("--child", choices=["generate", "cleanup", *STEPS], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(args.child, args.rows or DEFAULT_ROWS)
        return
    figures = run(args.rows)
    print_table(figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
