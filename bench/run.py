"""`make bench`: every benchmark, each against a baseline measured in the same run.

In this process (bench/results/core.json):
- token signing and verification (healthcode.lib.codec) against the raw `cryptography` ES256
  signature and verification: the ratios (goal ≥ 80 %);
- the colour rules engine: decisions per second for typical codes;
- the 10,000-row employee import (bench/import_employees.py).
Then, each in a process of its own with its own PostgreSQL cluster:
- bench/scale.py (bench/results/scale.json): the 1,000,000-resident population by COPY against
  raw COPY, check-in ingestion through the service against COPY, the sweep, the full
  re-derivation, the 1,000,000-row roster export (XLSX, CSV) and the rule-set dry run;
- bench/http_load.py (bench/results/http.json): scans and check-ins under gunicorn against a bare
  Django JSON view and a minimal read-one-row-insert-one-row view on the same server.
BENCH_RESIDENTS / BENCH_ENTERPRISES / BENCH_DAYS shrink the population for a quick run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from healthcode.codes import rules  # noqa: E402
from healthcode.lib import codec  # noqa: E402


def rate(fn, seconds: float = 1.0) -> float:
    """Calls per second of fn, best of three runs of about `seconds` each."""
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(100):
                fn()
            n += 100
        best = max(best, n / elapsed)
    return best


def bench_tokens() -> dict[str, float]:
    key = ec.generate_private_key(ec.SECP256R1())
    kid = b"benchkid"
    now = int(time.time())
    claims = codec.Claims(
        iss="NN", iat=now, exp=now + 180, code_id="3f1c2a9e-0000-4000-8000-000000000000",
        color="green", masked_name="赵*刚",
    )
    token = codec.encode(claims, key, kid)
    public = {kid: key.public_key()}
    message = b"x" * 120
    der = key.sign(message, ec.ECDSA(hashes.SHA256()))
    pub = key.public_key()

    def raw() -> None:
        pub.verify(der, message, ec.ECDSA(hashes.SHA256()))

    def ours() -> None:
        codec.decode(token, public, now=now)

    def raw_sign() -> None:
        key.sign(message, ec.ECDSA(hashes.SHA256()))

    def our_sign() -> None:
        codec.encode(claims, key, kid)

    raw_rate, our_rate = rate(raw), rate(ours)
    raw_sign_rate, our_sign_rate = rate(raw_sign), rate(our_sign)
    return {"raw_es256_verify_per_s": raw_rate, "token_decode_per_s": our_rate,
            "ratio": our_rate / raw_rate, "token_chars": len(token),
            "raw_es256_sign_per_s": raw_sign_rate, "token_encode_per_s": our_sign_rate,
            "sign_ratio": our_sign_rate / raw_sign_rate}


def bench_rules() -> dict[str, float]:
    rule_set = rules.load_rule_set("default")
    declared = datetime(2020, 2, 10, 9, tzinfo=UTC)
    hubei = rules.Declaration(
        returned_from_elsewhere=True, return_region="420100", arrival_date=date(2020, 2, 10),
        contact_with_case=False, contact_date=None, symptoms=frozenset(), temperature=36.5,
        declared_at=declared,
    )
    local = rules.Declaration(
        returned_from_elsewhere=False, return_region=None, arrival_date=None,
        contact_with_case=False, contact_date=None, symptoms=frozenset(), temperature=36.5,
        declared_at=declared,
    )
    checkins = tuple(
        rules.CheckInFact(day=date(2020, 2, 10) + timedelta(days=d), temperature=36.5,
                          symptoms=frozenset(), in_nanning=True, new_contact=False,
                          at=declared + timedelta(days=d))
        for d in range(14)
    )
    reviews = (rules.ReviewFact(outcome="approve", decided_at=declared + timedelta(days=1)),)
    now = datetime(2020, 2, 20, tzinfo=UTC)
    red = rules.Facts(hubei, checkins, reviews)
    green = rules.Facts(local)
    return {
        "decide_hubei_14_checkins_per_s": rate(lambda: rules.decide(red, rule_set, now)),
        "decide_local_green_per_s": rate(lambda: rules.decide(green, rule_set, now)),
    }


def main() -> None:
    # import_employees.run() sets up Django in this process (a SQLite file of its own).
    from bench import import_employees
    from bench.machine import describe

    machine = describe()
    results = {"tokens": bench_tokens(), "rules": bench_rules(), "import": import_employees.run()}
    t, r = results["tokens"], results["rules"]
    print(f"{'figure':<44}{'value':>14}")
    print(f"{'raw ES256 verify (cryptography) /s':<44}{t['raw_es256_verify_per_s']:>14,.0f}")
    print(f"{'token decode + verify (codec) /s':<44}{t['token_decode_per_s']:>14,.0f}")
    print(f"{'  ratio to raw (goal >= 0.80)':<44}{t['ratio']:>14.2f}")
    print(f"{'raw ES256 sign (cryptography) /s':<44}{t['raw_es256_sign_per_s']:>14,.0f}")
    print(f"{'token encode + sign (codec) /s':<44}{t['token_encode_per_s']:>14,.0f}")
    print(f"{'  ratio to raw':<44}{t['sign_ratio']:>14.2f}")
    print(f"{'rules.decide, Hubei + 14 check-ins /s':<44}{r['decide_hubei_14_checkins_per_s']:>14,.0f}")
    print(f"{'rules.decide, local green /s':<44}{r['decide_local_green_per_s']:>14,.0f}")
    secs = 1_000_000 / r["decide_hubei_14_checkins_per_s"]
    print(f"{'  1,000,000 such decisions would take (s)':<44}{secs:>14.1f}")
    import_employees.print_table(results["import"])
    out = ROOT / "bench" / "results" / "core.json"
    out.write_text(json.dumps({"machine": machine, **results}, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")
    # PostgreSQL and gunicorn: processes of their own, one after the other (2 cores).
    for script in ("scale.py", "http_load.py"):
        print(f"\n==> bench/{script}", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / script)], check=True)


if __name__ == "__main__":
    main()
