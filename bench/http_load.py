"""HTTP benchmark: scan verification and check-ins under gunicorn + PostgreSQL on loopback,
each against two baselines served by the same server process in the same run.

    python bench/http_load.py [--seconds 10] [--warmup 2] [--workers 2] [--connections 16] ...

What it does, start to finish (gunicorn and PostgreSQL are stopped on every exit path):

1. starts a throw-away PostgreSQL 15 cluster (scripts/pg.sh, HEALTHCODE_PG_DIR=
   /tmp/healthcode-pg-http.<pid>), migrates, and creates the population the load needs, in
   bulk (COPY): --residents accounts (default 45,000) each with a green code, a few days of
   earlier check-ins and a bearer token (stored hashed, as the app stores them), a QR token
   for each code signed by the real key store (healthcode.codes.keys), and an approved
   enterprise whose gate scanner (an employee with scan permission) has a bearer token. The
   residents are split in three: scans, scans with attendance, check-ins — so that every
   check-in and every attendance record is the first of that code's day, as in real traffic;
2. starts gunicorn on 127.0.0.1 with the production settings (HEALTHCODE_DEBUG off, secrets
   from the environment, persistent database connections: HEALTHCODE_DB_CONN_MAX_AGE=600)
   plus two baseline views (bench/httpbench): `GET /bench/bare`, a bare JsonResponse, and
   `POST /bench/read-insert/<id>`, which reads one HealthCode by key and inserts one Scan row.
   With deploy/gunicorn.conf.py present it is used (-c) with our --bind and --workers;
3. drives each endpoint with wrk (bench/httpbench/requests.lua: one pre-built request per
   line, so each request carries another code, token or QR payload): a warm-up, then a
   measured run. Every answer must be 2xx and no socket may fail, or the bench fails;
4. prints req/s, latency p50/p99, the ratios to the baselines, and per-core figures: the CPU
   time gunicorn and PostgreSQL spent during each measured run (from /proc), as requests per
   CPU-second of each — the inputs of a capacity plan. Writes bench/results/http.json with
   the machine's description.

Everything shares this machine's cores: wrk, the gunicorn workers and PostgreSQL. The
defaults (2 workers, wrk -t1 -c16) are meant for a 2-core machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VENV_BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "httpbench" / "requests.lua"
DEPLOY_CONF = ROOT / "deploy" / "gunicorn.conf.py"
RESULTS = ROOT / "bench" / "results" / "http.json"
SETTINGS = "bench.httpbench.settings"
CONN_MAX_AGE = 600
HISTORY_DAYS = 3  # earlier daily check-ins of every resident (facts the rules engine reads)
TEMPERATURE = Decimal("36.5")
NAMES = ("赵小刚", "钱丽", "孙建国", "李秀英", "周伟", "吴敏", "郑海燕", "王强", "冯静", "陈志明")
GOAL_RATIO = 0.60

# name (also its lines file, <name>.tsv), label
ENDPOINTS = (
    ("bare", "bare Django JSON view (GET /bench/bare)"),
    ("read_insert", "read one code by key + insert one row"),
    ("scan", "scan: POST /api/v1/scans (verify + record)"),
    ("scan_attendance", "scan + attendance (enterprise, temperature)"),
    ("checkin", "check-in: POST /api/v1/codes/{id}/checkins"),
)


class BenchFailed(Exception):
    pass


def _on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


# --- the machine --------------------------------------------------------------------------------


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def machine() -> dict[str, Any]:
    import django
    import psycopg

    from bench.machine import describe

    pg_bin = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
    return {
        **describe(),
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
        "gunicorn": _first_line([str(VENV_BIN / "gunicorn"), "--version"]),
        "postgresql": _first_line([f"{pg_bin}/postgres", "-V"]),
        "wrk": _first_line(["wrk", "-v"]),
    }


# --- CPU time of process trees (from /proc) ------------------------------------------------------


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is the state (field 3): ppid is field 4, utime..cstime fields 14-17.
    ppid = int(fields[1])
    ticks = sum(int(f) for f in fields[11:15])
    return ppid, ticks / _TICK


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by `root` and its descendants (those that exited count through
    their parent's reaped-children time)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                stats[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo.extend(children.get(pid, []))
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- PostgreSQL -----------------------------------------------------------------------------------


class Cluster:
    def __init__(self) -> None:
        self.dir = Path(f"/tmp/healthcode-pg-http.{os.getpid()}")
        self.env = {**os.environ, "HEALTHCODE_PG_DIR": str(self.dir)}
        self.started = False

    def start(self) -> str:
        self.started = True
        subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start"], env=self.env, check=True)
        return subprocess.run(
            [str(ROOT / "scripts" / "pg.sh"), "url"], env=self.env, check=True,
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    def postmaster_pid(self) -> int:
        return int((self.dir / "data" / "postmaster.pid").read_text().splitlines()[0])

    def stop(self) -> None:
        if self.started:
            subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop"], env=self.env, check=False)
            self.started = False


# --- the population -------------------------------------------------------------------------------


def _secrets() -> dict[str, str]:
    def key() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()

    return {
        "HEALTHCODE_SECRET_KEY": secrets.token_urlsafe(48),
        "HEALTHCODE_FIELD_KEYS": f"bench:{key()}",
        "HEALTHCODE_BLIND_INDEX_KEY": key(),
        "HEALTHCODE_KEY_ENCRYPTION_KEY": key(),
    }


def _copy(model: Any, rows: Any) -> int:
    """COPY rows (dicts by column; the id column left to its sequence) into the model's table."""
    from django.db import connection

    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    n = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
            n += 1
    return n


def _id_number(i: int) -> str:
    from stdnum.cn import ric

    born = datetime(1950, 1, 1) + timedelta(days=i // 900)
    body = f"450103{born:%Y%m%d}{100 + i % 900:03d}"
    return body + ric.calc_check_digit(body + "0")


def populate(residents: int, workdir: Path) -> dict[str, Any]:
    """Create the population and write one wrk lines file per endpoint into `workdir`.
    Runs in this process, with Django set up on the benchmark's database."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from healthcode.accounts.models import ApiToken, TokenScope, User
    from healthcode.accounts.services import issue_api_token
    from healthcode.checkins.models import CheckIn
    from healthcode.codes import keys, rules
    from healthcode.codes.models import HealthCode
    from healthcode.codes.services import ID_NUMBER_CONTEXT, id_number_index, rule_set_in_force
    from healthcode.enterprises.models import Employee, Enterprise
    from healthcode.lib.crypto import encrypt_field
    from healthcode.lib.masking import mask_id_number
    from healthcode.regions import services as regions
    from healthcode.testing import credit_code

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.perf_counter()

    now = timezone.now()
    today = timezone.localdate(now)
    declared = now - timedelta(days=HISTORY_DAYS, hours=2)
    history = [today - timedelta(days=d) for d in range(HISTORY_DAYS, 0, -1)]
    rule_set = rule_set_in_force()
    # Every resident is a local one with clean check-ins: decide that shape once and store
    # exactly what redecide() would, so that reading a code never re-decides it.
    facts = rules.Facts(
        declaration=rules.Declaration(
            returned_from_elsewhere=False, return_region=None, arrival_date=None,
            contact_with_case=False, contact_date=None, symptoms=frozenset(),
            temperature=float(TEMPERATURE), declared_at=declared,
        ),
        checkins=tuple(
            rules.CheckInFact(
                day=day, temperature=float(TEMPERATURE), symptoms=frozenset(), in_nanning=True,
                new_contact=False,
                at=datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo)
                + timedelta(hours=8),
            )
            for day in history
        ),
    )  # fmt: skip
    decided = rules.decide(facts, rule_set, now)
    decision = decided.to_json()
    if decision["color"] != "green":
        raise BenchFailed(f"the residents' shape decides {decision['color']}, not green")

    districts = [r.code for r in regions.nanning_districts()]
    phones = [f"139{i:08d}" for i in range(residents)]
    _copy(
        User,
        (
            {"password": "!", "last_login": None, "is_superuser": False, "phone": p,
             "is_active": True, "is_staff": False, "date_joined": declared}
            for p in phones
        ),
    )  # fmt: skip
    user_ids = dict(User.objects.filter(phone__startswith="139").values_list("phone", "pk"))

    public_ids = [uuid.uuid4() for _ in range(residents)]
    names = [NAMES[i % len(NAMES)] for i in range(residents)]
    reasons = json.dumps(decision["reasons"], ensure_ascii=False)
    path = json.dumps(decision["path_to_green"], ensure_ascii=False)
    next_change = decided.next_update_at or decided.next_change_at

    def codes() -> Any:
        for i in range(residents):
            number = _id_number(i)
            yield {
                "public_id": public_ids[i], "account_id": user_ids[phones[i]], "relation": "self",
                "name": names[i],
                "id_number_encrypted": encrypt_field(number, context=ID_NUMBER_CONTEXT),
                "id_number_index": id_number_index(number),
                "id_number_masked": mask_id_number(number), "phone": phones[i],
                "address": "南宁市青秀区民族大道 100 号", "district_id": districts[i % len(districts)],
                "returned_to_work": True, "employer": "南宁市基准测试有限公司",
                "returned_from_elsewhere": False, "return_region_id": None, "arrival_date": None,
                "contact_with_case": False, "contact_date": None, "symptoms": "[]",
                "temperature": TEMPERATURE, "attested_at": declared, "color": decision["color"],
                "reasons": reasons, "path_to_green": path, "rule_set_id": rule_set.id,
                "rule_set_version": rule_set.version, "next_change_at": next_change,
                "color_since": declared, "created_at": declared, "updated_at": declared,
            }  # fmt: skip

    _copy(HealthCode, codes())
    code_ids = dict(HealthCode.objects.values_list("public_id", "pk"))

    def checkins() -> Any:
        for public_id in public_ids:
            for day in history:
                at = datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo) + timedelta(
                    hours=8
                )
                yield {
                    "code_id": code_ids[public_id], "day": day, "temperature": TEMPERATURE,
                    "symptoms": "[]", "in_nanning": True, "new_contact": False, "source": "self",
                    "recorded_by_id": None, "revision": 1, "created_at": at, "updated_at": at,
                }  # fmt: skip

    _copy(CheckIn, checkins())

    raw_tokens = [secrets.token_urlsafe(32) for _ in range(residents)]
    _copy(
        ApiToken,
        (
            {"user_id": user_ids[phones[i]], "scope": TokenScope.RESIDENT,
             "key_hash": hashlib.sha256(raw_tokens[i].encode()).hexdigest(),
             "created_at": declared, "expires_at": now + timedelta(days=30),
             "last_used_at": None, "revoked_at": None}
            for i in range(residents)
        ),
    )  # fmt: skip

    # The enterprise, its gate scanner (an employee with scan permission, 企业扫码人员), and
    # the residents scanned for attendance as its employees.
    scanner = User.objects.create_user(phone="13800000000")
    enterprise = Enterprise.objects.create(
        name="南宁市基准测试有限公司", credit_code=credit_code(1), district_id="450103",
        industry="C", department="gxj", address="南宁市青秀区民族大道 100 号",
        contact_name="赵经理", contact_phone="13800000001", status="approved",
        decided_at=now,
    )  # fmt: skip
    Employee.objects.create(
        enterprise=enterprise, name="钱门卫", phone=scanner.phone, can_scan=True,
        department_name="安保部",
    )  # fmt: skip
    third = residents // 3
    scan_slice = range(0, third)
    attendance_slice = range(third, 2 * third)
    checkin_slice = range(2 * third, residents)
    _copy(
        Employee,
        (
            {"enterprise_id": enterprise.pk, "name": names[i], "phone": phones[i],
             "code_id": code_ids[public_ids[i]], "department_name": "生产部",
             "returned_to_work": True, "returned_on": today - timedelta(days=7),
             "can_scan": False, "active": True, "added_at": declared, "removed_at": None}
            for i in attendance_slice
        ),
    )  # fmt: skip
    scanner_auth = f"Bearer {issue_api_token(user=scanner)}"

    # QR tokens signed by the real key store (the first signing key is created here).
    signed = time.perf_counter()
    payloads: dict[int, str] = {}
    for i in [*scan_slice, *attendance_slice]:
        code = HealthCode(public_id=public_ids[i], name=names[i], color=decision["color"])
        payloads[i] = keys.issue_token(code, now=now)[0]
    sign_s = time.perf_counter() - signed

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    def write(name: str, lines: Any) -> None:
        (workdir / f"{name}.tsv").write_text("".join(lines))

    checkin_body = json.dumps(
        {
            "temperature": float(TEMPERATURE),
            "symptoms": [],
            "in_nanning": True,
            "new_contact": False,
        }
    )
    write("bare", ["GET\t/bench/bare\t-\t\n"])
    write("read_insert", (f"POST\t/bench/read-insert/{public_ids[i]}\t-\t\n" for i in scan_slice))
    write(
        "scan",
        (f"POST\t/api/v1/scans\t{scanner_auth}\t{json.dumps({'payload': payloads[i]})}\n"
         for i in scan_slice),
    )  # fmt: skip
    write(
        "scan_attendance",
        (
            "POST\t/api/v1/scans\t{}\t{}\n".format(
                scanner_auth,
                json.dumps({"payload": payloads[i], "enterprise": enterprise.pk,
                            "temperature": 36.6, "symptoms": []}),
            )
            for i in attendance_slice
        ),
    )  # fmt: skip
    write(
        "checkin",
        (f"POST\t/api/v1/codes/{public_ids[i]}/checkins\tBearer {raw_tokens[i]}\t{checkin_body}\n"
         for i in checkin_slice),
    )  # fmt: skip
    connection.close()
    return {
        "residents": residents,
        "earlier_checkins_per_resident": HISTORY_DAYS,
        "slices": {"scan": len(scan_slice), "scan_attendance": len(attendance_slice),
                   "checkin": len(checkin_slice)},
        "migrate_s": round(migrated - started, 1),
        "populate_s": round(time.perf_counter() - migrated, 1),
        "qr_tokens_signed_per_s": round(len(payloads) / sign_s),
    }  # fmt: skip


def count_queries(workdir: Path, names: list[str]) -> dict[str, int]:
    """The SQL statements one request of each endpoint runs (BEGIN, SAVEPOINT and COMMIT
    included), through Django's test client in this process: the next-to-last line of each
    endpoint's file warms the process's caches, the last one is counted (the measured runs
    stop long before them)."""
    import logging
    import warnings

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # WhiteNoise warns that collectstatic never ran: no static files are served here.
    warnings.filterwarnings("ignore", message="No directory at")
    client = Client(HTTP_HOST="127.0.0.1")
    counts = {}
    logging.disable(logging.INFO)  # no request log lines in the bench's output
    try:
        for name in names:
            for line in (workdir / f"{name}.tsv").read_text().splitlines()[-2:]:
                method, target, auth, body = line.split("\t", 3)
                headers = {} if auth == "-" else {"HTTP_AUTHORIZATION": auth}
                with CaptureQueriesContext(connection) as queries:
                    if method == "GET":
                        answer = client.get(target, **headers)
                    else:
                        answer = client.post(
                            target, body, content_type="application/json", **headers
                        )
                if not 200 <= answer.status_code < 300:
                    raise BenchFailed(f"{name}: {answer.status_code} {answer.content[:300]!r}")
                counts[name] = len(queries.captured_queries)
    finally:
        logging.disable(logging.NOTSET)
        connection.close()
    return counts


def unlimited_rates() -> dict[str, str]:
    """The API's rate limits (settings.HEALTHCODE_RATE_LIMITS) raised out of reach: the load
    comes from one address and a few accounts, far faster than any person. The limits are
    still counted on every request, as in production (in each worker's memory: no Redis)."""
    from django.conf import settings

    return {
        f"HEALTHCODE_RATE_{name.upper()}": "1000000000/m"
        for name in settings.HEALTHCODE_RATE_LIMITS
    }


# --- gunicorn -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, env: dict[str, str], args: argparse.Namespace, workdir: Path) -> None:
        self.port = _free_port()
        self.log = workdir / "gunicorn.log"
        cmd = [str(VENV_BIN / "gunicorn")]
        if DEPLOY_CONF.exists() and not args.no_deploy_config:
            cmd += ["-c", str(DEPLOY_CONF)]
            self.config = str(DEPLOY_CONF.relative_to(ROOT))
        else:
            cmd += ["--worker-class", args.worker_class, "--threads", str(args.threads)]
            self.config = (
                f"command line: --worker-class {args.worker_class} --threads {args.threads}"
            )
        cmd += [
            "--chdir", str(ROOT), "--bind", f"127.0.0.1:{self.port}", "--workers",
            str(args.workers), "healthcode.wsgi:application",
        ]  # fmt: skip
        self.cmd = cmd
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchFailed(f"gunicorn exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url("/bench/bare"), timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise BenchFailed(f"gunicorn did not answer within {timeout:.0f} s:\n{self.tail()}")

    def worker_class(self) -> str:
        match = re.search(r"Using worker: ([\w.]+)", self.log.read_text(errors="replace"))
        return match.group(1) if match else "?"

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- wrk ------------------------------------------------------------------------------------------


def wrk(
    url: str, lines: Path, first: int, seconds: float, args: argparse.Namespace
) -> dict[str, Any]:
    cmd = [
        "wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{seconds:g}s",
        "--timeout", "10s", "-s", str(LUA), url, "--", str(lines), str(first),
        str(args.wrk_threads),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise BenchFailed(f"wrk failed ({out.returncode}): {out.stderr.strip()}")
    for line in out.stdout.splitlines():
        if line.startswith("WRKRESULT "):
            return json.loads(line[len("WRKRESULT ") :])
    raise BenchFailed(f"no result from wrk:\n{out.stdout}\n{out.stderr}")


def measure(
    name: str, server: Server, cluster: Cluster, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    lines = workdir / f"{name}.tsv"
    available = sum(1 for _ in lines.open())
    url = server.url()
    warm = wrk(url, lines, 0, args.warmup, args)
    # Continue after the warm-up's lines (including requests in flight when it stopped).
    first = warm["sent"] + args.connections
    pg = cluster.postmaster_pid()
    before = (tree_cpu(server.proc.pid), tree_cpu(pg), children_cpu(), time.perf_counter())
    run = wrk(url, lines, first, args.seconds, args)
    after = (tree_cpu(server.proc.pid), tree_cpu(pg), children_cpu(), time.perf_counter())
    for result in (warm, run):
        failures = result["non2xx"] + sum(result["errors"].values())
        if failures:
            raise BenchFailed(
                f"{name}: {result['non2xx']} answers not 2xx, socket errors {result['errors']}; "
                f"first: {result['first_bad_status']} {result['first_bad_body']}"
            )
    requests = run["requests"]
    seconds = run["duration_us"] / 1e6
    app_cpu, db_cpu, wrk_cpu = (after[i] - before[i] for i in range(3))
    wall = after[3] - before[3]
    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "rps": requests / seconds,
        "latency_ms": {k: run["latency_us"][k] / 1000 for k in ("mean", "p50", "p90", "p99", "max")},
        "distinct": name == "bare" or first + run["sent"] <= available,
        "cpu_s": {"gunicorn": round(app_cpu, 2), "postgresql": round(db_cpu, 2),
                  "wrk": round(wrk_cpu, 2), "wall": round(wall, 2)},
        "app_ms_per_request": 1000 * app_cpu / requests,
        "db_ms_per_request": 1000 * db_cpu / requests,
        # None where the run spent too little CPU to measure (/proc counts 10 ms ticks).
        "rps_per_app_core": requests / app_cpu if app_cpu >= 0.05 else None,
        "rps_per_db_core": requests / db_cpu if db_cpu >= 0.05 else None,
        "rps_per_worker": requests / seconds / args.workers,
    }  # fmt: skip


# --- report ---------------------------------------------------------------------------------------


def print_table(results: dict[str, Any]) -> None:
    cfg = results["config"]
    print(
        f"\nHTTP on 127.0.0.1: gunicorn {cfg['workers']} workers ({cfg['worker_class']}; "
        f"{cfg['gunicorn_config']}), PostgreSQL (conn_max_age {cfg['conn_max_age']} s), "
        f"wrk -t{cfg['wrk_threads']} -c{cfg['connections']} for {cfg['seconds']:g} s after "
        f"{cfg['warmup']:g} s warm-up, all on the same {results['machine']['cores']} cores"
    )
    head = (f"{'endpoint':<46}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'/worker':>9}"
            f"{'/app core':>10}{'/db core':>10}{'app ms':>8}{'db ms':>7}{'SQL':>5}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for name, label in ENDPOINTS:
        r = results["endpoints"].get(name)
        if r is None:
            continue
        per_app = f"{r['rps_per_app_core']:,.0f}" if r["rps_per_app_core"] else "-"
        per_db = f"{r['rps_per_db_core']:,.0f}" if r["rps_per_db_core"] else "-"
        print(
            f"{label:<46}{r['rps']:>8,.0f}{r['latency_ms']['p50']:>8.1f}"
            f"{r['latency_ms']['p99']:>8.1f}{r['rps_per_worker']:>9,.0f}{per_app:>10}"
            f"{per_db:>10}{r['app_ms_per_request']:>8.2f}{r['db_ms_per_request']:>7.2f}"
            f"{r['queries_per_request']:>5}"
        )
    print(
        "  /worker: req/s per gunicorn worker; /app core, /db core: requests per CPU-second that\n"
        "  gunicorn and PostgreSQL spent in the run (app ms, db ms: CPU per request);\n"
        "  SQL: statements per request (BEGIN, SAVEPOINT, COMMIT included)"
    )
    load = cfg["load_average_1m"]
    print(f"  load average (1 min) before / after the runs: {load[0]} / {load[1]}")
    for name, ratio in results["ratios"].items():
        goal = "" if not name.endswith("_to_read_insert") else (
            f"  (goal >= {GOAL_RATIO:.2f}: {'met' if ratio >= GOAL_RATIO else 'NOT met'})"
        )  # fmt: skip
        print(f"  {name:<40}{ratio:>6.2f}{goal}")
    for name, r in results["endpoints"].items():
        if not r["distinct"]:
            print(f"  note: {name} ran out of distinct requests and wrapped around (--residents)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=float(env("BENCH_HTTP_SECONDS", "10")))
    p.add_argument("--warmup", type=float, default=float(env("BENCH_HTTP_WARMUP", "2")))
    p.add_argument("--workers", type=int, default=int(env("BENCH_HTTP_WORKERS", "2")))
    p.add_argument("--connections", type=int, default=int(env("BENCH_HTTP_CONNECTIONS", "16")))
    p.add_argument("--wrk-threads", type=int, default=int(env("BENCH_HTTP_WRK_THREADS", "1")))
    p.add_argument("--residents", type=int, default=int(env("BENCH_HTTP_RESIDENTS", "45000")))
    p.add_argument(
        "--worker-class",
        default="sync",
        help="without deploy/gunicorn.conf.py (or with --no-deploy-config)",
    )
    p.add_argument("--threads", type=int, default=1, help="likewise (gthread)")
    p.add_argument("--no-deploy-config", action="store_true", help="ignore deploy/gunicorn.conf.py")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the server (e.g. HEALTHCODE_THREADS=4, WEB_CONCURRENCY is "
        "--workers); repeatable",
    )
    p.add_argument("--endpoints", default=",".join(n for n, _ in ENDPOINTS))
    p.add_argument("--no-write", action="store_true", help=f"don't write {RESULTS.name}")
    return p.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = [n for n in args.endpoints.split(",") if n]
    unknown = set(wanted) - {n for n, _ in ENDPOINTS}
    if unknown:
        print(f"unknown endpoints: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if shutil.which("wrk") is None:
        print("wrk not found (apt-get install wrk)", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    workdir = Path(tempfile.mkdtemp(prefix="healthcode-http-bench."))
    cluster = Cluster()
    server: Server | None = None
    try:
        database_url = cluster.start()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DATABASE_URL": database_url,
            "HEALTHCODE_DB_CONN_MAX_AGE": str(CONN_MAX_AGE),
            "HEALTHCODE_DEBUG": "0",
            "HEALTHCODE_VAR_DIR": str(workdir / "var"),
            "HEALTHCODE_SMS_BACKEND": "console",
            **_secrets(),
        }
        # This process sets up Django on the same database to create the population. Its QR
        # tokens live a day instead of minutes, so that every one is still valid when its
        # endpoint's turn comes; verification itself is the server's, with default settings.
        os.environ.update({**env, "HEALTHCODE_QR_TTL_SECONDS": str(24 * 3600)})
        print(f"populating {args.residents:,} residents ...", flush=True)
        population = populate(args.residents, workdir)
        print(
            f"  migrate {population['migrate_s']} s, population {population['populate_s']} s",
            flush=True,
        )
        queries = count_queries(workdir, wanted)
        env.update(unlimited_rates())
        extra = dict(item.split("=", 1) for item in args.server_env)
        env.update(extra)
        server = Server(env, args, workdir)
        server.wait_ready()
        endpoints: dict[str, Any] = {}
        load_before = os.getloadavg()
        for name in wanted:
            print(f"  {name} ...", flush=True)
            endpoints[name] = measure(name, server, cluster, workdir, args)
            endpoints[name]["queries_per_request"] = queries[name]
        ratios: dict[str, float] = {}
        base, minimal = endpoints.get("bare"), endpoints.get("read_insert")
        if base and minimal:
            ratios["read_insert_to_bare"] = minimal["rps"] / base["rps"]
        for name in ("scan", "scan_attendance", "checkin"):
            if name in endpoints and minimal:
                ratios[f"{name}_to_read_insert"] = endpoints[name]["rps"] / minimal["rps"]
            if name in endpoints and base:
                ratios[f"{name}_to_bare"] = endpoints[name]["rps"] / base["rps"]
        results = {
            "machine": machine(),
            "config": {
                "workers": args.workers,
                "worker_class": server.worker_class(),
                "gunicorn_config": server.config,
                "gunicorn_command": " ".join(server.cmd[1:]).replace(str(ROOT), "."),
                "wrk_threads": args.wrk_threads,
                "connections": args.connections,
                "seconds": args.seconds,
                "warmup": args.warmup,
                "conn_max_age": CONN_MAX_AGE,
                "loopback": True,
                "rate_limits": "counted on every request, limits raised out of reach",
                "server_env": sorted(args.server_env),
                "note": "wrk, gunicorn and PostgreSQL share the machine's cores",
                # The machine's load before and after the runs: other work on it skews them.
                "load_average_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            },
            "population": population,
            "endpoints": endpoints,
            "ratios": ratios,
            "goal_ratio": GOAL_RATIO,
        }
        print_table(results)
        if not args.no_write:
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
            print(f"written {RESULTS.relative_to(ROOT)}")
        return 0
    except BenchFailed as exc:
        print(f"bench/http_load.py failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
