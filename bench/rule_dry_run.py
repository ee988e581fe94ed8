"""Benchmark of the dry run of a rule-set change over 1,000,000 codes (issue 4, "Done when").

Builds a throw-away database — SQLite in a temporary directory, or, when DATABASE_URL names a
PostgreSQL server, a fresh test database on it (created and dropped here, never the named one)
— with BENCH_CODES codes (default 1,000,000), inserted in bulk in batches:

- ~90 % residents who never left Nanning (green),
- ~8 % back from Guangdong within the last two weeks (yellow, awaiting review), 3 clean
  daily check-ins each,
- ~2 % back from Hubei (red), 2 clean check-ins each,

spread over Nanning's districts, each stored with the colour and reasons the default rule set
gives. Then it times, in the same run:

- the dry run of a candidate rule set (Guangdong 440000 → red) through
  `healthcode.codes.rulesets_store.dry_run`, the code path of the back office's dry-run job:
  facts loaded in batches, decided, compared, counted, nothing written;
- its two halves: loading every code's facts (`rulesets_store.iter_facts`) into memory, and
  the baseline `rules.decide` alone over those in-memory facts — the floor no dry run can beat;
- the re-derivation that follows a publication (`redecide` per code, batches locked), on a
  sample of REDERIVE_SAMPLE codes in a transaction rolled back afterwards, as codes/s.

Prints a table and writes bench/results/rule_dry_run.json. Run alone
(`python bench/rule_dry_run.py`; BENCH_CODES=100000 for a quick run) or from bench/run.py
(which starts it as a process of its own).
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CODES = int(os.environ.get("BENCH_CODES", "1000000"))
INSERT_BATCH = 10_000
REDERIVE_SAMPLE = int(os.environ.get("BENCH_REDERIVE_SAMPLE", "5000"))
ACCOUNTS = 1000  # codes are spread over this many accounts (the dry run never reads them)
GUANGDONG = ("440100", "440300", "440600", "441900", "440400")  # 广州 深圳 佛山 东莞 珠海
HUBEI = ("420100", "420500", "420600", "421000")  # 武汉 宜昌 襄阳 荆州


def _setup_django(tmp: Path) -> tuple[str, Any]:
    """Django on a throw-away database, migrated. Returns (vendor, teardown)."""
    import django
    from django.apps import apps

    if apps.ready:
        raise RuntimeError("bench/rule_dry_run.py needs a process of its own (Django is set up)")
    url = os.environ.get("DATABASE_URL", "")
    postgres = url.startswith(("postgres://", "postgresql://"))
    if not postgres:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["HEALTHCODE_VAR_DIR"] = str(tmp)
    os.environ["HEALTHCODE_TESTING"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "healthcode.settings"
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if postgres:
        # A database of our own beside the named one ("test_<name>"), dropped at the end.
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)

        def teardown() -> None:
            connection.creation.destroy_test_db(old_name, verbosity=0)

        return "postgresql", teardown
    call_command("migrate", verbosity=0, interactive=False)
    return "sqlite", lambda: None


class _Formats:
    """Python values as the raw insert passes them to the driver: SQLite gets text and
    integers (as Django stores them there); psycopg adapts dates, UUIDs and decimals itself."""

    def __init__(self, vendor: str) -> None:
        self.sqlite = vendor == "sqlite"

    def dt(self, value: datetime) -> Any:
        if self.sqlite:
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        return value

    def day(self, value: Any) -> Any:
        return value.isoformat() if self.sqlite and value is not None else value

    def uid(self, value: uuid.UUID) -> Any:
        return value.hex if self.sqlite else value

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    def dec(self, value: Decimal) -> Any:
        return str(value) if self.sqlite else value

    @staticmethod
    def js(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)


def _insert(model: Any, rows: Any) -> int:
    """Insert rows (dicts of column → value already formatted for the driver) in batches of
    INSERT_BATCH with one executemany each."""
    from django.db import connection, transaction

    columns = [f.column for f in model._meta.concrete_fields]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    n = 0
    batch: list[tuple] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(tuple([row[c] for c in columns]))
            if len(batch) >= INSERT_BATCH:
                with transaction.atomic():
                    cursor.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            with transaction.atomic():
                cursor.executemany(sql, batch)
            n += len(batch)
    return n


def _reset_sequences(models: list[Any]) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def _stored(
    kind: str,
    region: str | None,
    arrival: Any,
    declared: datetime,
    now: datetime,
    checkin_days: list[Any],
) -> dict[str, Any]:
    """What the default rule set stores for such a code (decided once per shape)."""
    from healthcode.codes import rules

    rule_set = rules.load_rule_set("default")
    facts = rules.Facts(
        declaration=rules.Declaration(
            returned_from_elsewhere=kind != "local",
            return_region=region,
            arrival_date=arrival,
            contact_with_case=False,
            contact_date=None,
            symptoms=frozenset(),
            temperature=36.5,
            declared_at=declared,
        ),
        checkins=tuple(
            rules.CheckInFact(
                day=d,
                temperature=36.5,
                symptoms=frozenset(),
                in_nanning=True,
                new_contact=False,
                at=declared,
            )
            for d in checkin_days
        ),
    )
    decided = rules.decide(facts, rule_set, now).to_json()
    return {
        "color": decided["color"],
        "reasons": decided["reasons"],
        "path_to_green": decided["path_to_green"],
    }


def build(n: int, vendor: str) -> dict[str, Any]:
    """n codes and their check-ins, inserted in bulk. Returns the counts and seconds."""
    from django.utils import timezone

    from healthcode.accounts.models import User
    from healthcode.checkins.models import CheckIn
    from healthcode.codes.models import HealthCode
    from healthcode.regions import services as regions

    started = time.perf_counter()
    rnd = random.Random(20200221)
    now = timezone.now()
    today = timezone.localdate(now)
    User.objects.bulk_create(
        [User(phone=f"137{i:08d}", password="!") for i in range(ACCOUNTS)], batch_size=1000
    )
    account_ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
    districts = [r.code for r in regions.nanning_districts()]
    for code in GUANGDONG + HUBEI:
        assert regions.get_region(code) is not None, code
    shapes: dict[tuple, dict[str, Any]] = {}
    checkins: list[tuple[int, Any]] = []  # (code id, day)
    counts = {"green": 0, "yellow": 0, "red": 0}
    fmt = _Formats(vendor)
    true, false = fmt.flag(True), fmt.flag(False)
    temperature = fmt.dec(Decimal("36.5"))

    def codes() -> Any:
        for pk in range(1, n + 1):
            draw = rnd.random()
            kind = "local" if draw < 0.90 else "guangdong" if draw < 0.98 else "hubei"
            region = arrival = None
            days_ago = rnd.randint(1, 13)
            declared = now - timedelta(days=days_ago, minutes=rnd.randint(0, 600))
            days: list[Any] = []
            if kind != "local":
                region = rnd.choice(GUANGDONG if kind == "guangdong" else HUBEI)
                arrival = today - timedelta(days=days_ago)
                days = [today - timedelta(days=d) for d in range(3 if kind == "guangdong" else 2)]
                checkins.extend((pk, d) for d in days)
            shape = (kind, region, arrival)
            if shape not in shapes:
                stored = _stored(kind, region, arrival, declared, now, days)
                shapes[shape] = {
                    "color": stored["color"],
                    "reasons": fmt.js(stored["reasons"]),
                    "path_to_green": fmt.js(stored["path_to_green"]),
                    "arrival": fmt.day(arrival),
                }
            stored = shapes[shape]
            counts[stored["color"]] += 1
            at = fmt.dt(declared)
            yield {
                "id": pk,
                "public_id": fmt.uid(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                "account_id": account_ids[pk % len(account_ids)],
                "relation": "self" if pk % 3 else "family",
                "name": "赵小刚",
                "id_number_encrypted": "bench",
                "id_number_index": f"{pk:064x}",
                "id_number_masked": "4501**********1234",
                "phone": f"139{pk:08d}",
                "address": "南宁市青秀区民族大道 100 号",
                "district_id": districts[pk % len(districts)],
                "returned_to_work": false,
                "employer": "",
                "returned_from_elsewhere": true if kind != "local" else false,
                "return_region_id": region,
                "arrival_date": stored["arrival"],
                "contact_with_case": false,
                "contact_date": None,
                "symptoms": "[]",
                "temperature": temperature,
                "attested_at": at,
                "color": stored["color"],
                "reasons": stored["reasons"],
                "path_to_green": stored["path_to_green"],
                "rule_set_id": "nanning-2020",
                "rule_set_version": 1,
                "next_change_at": None,
                "color_since": at,
                "created_at": at,
                "updated_at": at,
            }

    inserted = _insert(HealthCode, codes())
    codes_s = time.perf_counter() - started

    def checkin_rows() -> Any:
        checkin_temperature = fmt.dec(Decimal("36.4"))
        for pk, (code_id, day) in enumerate(checkins, start=1):
            at = fmt.dt(datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1))
            yield {
                "id": pk,
                "code_id": code_id,
                "day": fmt.day(day),
                "temperature": checkin_temperature,
                "symptoms": "[]",
                "in_nanning": true,
                "new_contact": false,
                "source": "self",
                "recorded_by_id": None,
                "revision": 1,
                "created_at": at,
                "updated_at": at,
            }

    inserted_checkins = _insert(CheckIn, checkin_rows())
    _reset_sequences([HealthCode, CheckIn])
    if vendor == "sqlite":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "codes": inserted,
        "checkins": inserted_checkins,
        "stored_colors": counts,
        "generate_codes_s": codes_s,
        "generate_total_s": time.perf_counter() - started,
    }


def candidate() -> dict[str, Any]:
    from healthcode.codes import rules

    data = rules.load_rule_set("default").to_dict()
    data["version"] += 1
    data["rules"]["return_region"]["regions"].append(
        {"code": "440000", "color": "red", "name_zh": "广东省", "name_en": "Guangdong Province"}
    )
    return data


def measure() -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from healthcode.codes import rules, rulesets_store
    from healthcode.codes.models import HealthCode, RuleSetVersion

    data = candidate()
    rule_set = rules.load_rule_set(data)
    now = timezone.now()

    started = time.perf_counter()
    result = rulesets_store.dry_run(data=data, now=now)
    dry_run_s = time.perf_counter() - started

    started = time.perf_counter()
    facts = [f for batch in rulesets_store.iter_facts() for _pk, _d, _c, f in batch]
    load_s = time.perf_counter() - started

    decide = rules.decide
    started = time.perf_counter()
    changed = 0
    for item in facts:
        changed += decide(item, rule_set, now).color == "red"
    decide_s = time.perf_counter() - started
    del facts

    # The re-derivation after publication (the "rederive_all" job's batches), on a sample,
    # rolled back.
    sample = list(HealthCode.objects.order_by("pk").values_list("pk", flat=True)[:REDERIVE_SAMPLE])
    with transaction.atomic():
        RuleSetVersion.objects.create(
            rule_set_id=rule_set.id, version=rule_set.version, data=rule_set.to_dict()
        )
        rulesets_store.clear_cache()
        started = time.perf_counter()
        for start in range(0, len(sample), rulesets_store.REDERIVE_BATCH):
            rulesets_store.rederive_codes(sample[start : start + rulesets_store.REDERIVE_BATCH])
        rederive_s = time.perf_counter() - started
        transaction.set_rollback(True)
    rulesets_store.clear_cache()

    n = result["codes"]
    return {
        "dry_run_s": dry_run_s,
        "dry_run_codes_per_s": n / dry_run_s,
        "dry_run_changed": result["changed"],
        "dry_run_changes": result["changes"],
        "load_facts_s": load_s,
        "load_facts_codes_per_s": n / load_s,
        "decide_only_s": decide_s,
        "decide_only_codes_per_s": n / decide_s,
        "rederive_sample": len(sample),
        "rederive_sample_s": rederive_s,
        "rederive_codes_per_s": len(sample) / rederive_s if sample else 0.0,
    }


def print_table(f: dict[str, Any]) -> None:
    n = f"{f['codes']:,}"
    print(f"{'rule-set dry run over ' + n + ' codes (' + f['database'] + ')':<52}")
    print(f"{'  generate codes + check-ins (s)':<44}{f['generate_total_s']:>14.1f}")
    print(f"{'    codes / check-ins inserted':<44}{f['codes']:>7,}/{f['checkins']:,}")
    print(f"{'  dry run end to end (s)':<44}{f['dry_run_s']:>14.1f}")
    print(f"{'  dry run codes/s':<44}{f['dry_run_codes_per_s']:>14,.0f}")
    print(f"{'    codes that would change colour':<44}{f['dry_run_changed']:>14,}")
    print(f"{'  load facts alone (s)':<44}{f['load_facts_s']:>14.1f}")
    print(f"{'  baseline rules.decide alone (s)':<44}{f['decide_only_s']:>14.1f}")
    print(f"{'  baseline rules.decide codes/s':<44}{f['decide_only_codes_per_s']:>14,.0f}")
    print(f"{'  re-derivation (redecide) codes/s':<44}{f['rederive_codes_per_s']:>14,.0f}")
    hours = f["codes"] / f["rederive_codes_per_s"] / 3600 if f["rederive_codes_per_s"] else 0
    print(f"{'    all codes would take (h)':<44}{hours:>14.2f}")


def run(n: int = CODES) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="healthcode-bench-rules-") as tmp:
        vendor, teardown = _setup_django(Path(tmp))
        try:
            figures = {"database": vendor, **build(n, vendor)}
            figures.update(measure())
        finally:
            from django.db import connections

            connections.close_all()
            teardown()
    return figures


def main() -> None:
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
