"""Benchmarks of the pure core, each against a baseline measured in the same run.

- token verification (healthcode.lib.codec.decode) against the raw `cryptography` ES256
  verification of the same signature: the ratio (goal ≥ 80 %);
- the colour rules engine: decisions per second for typical codes.

Prints a table and writes bench/results/core.json with the machine's description.
The full-stack benchmarks (HTTP, PostgreSQL, exports) come with the performance issue.
"""

from __future__ import annotations

import json
import os
import platform
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

    raw_rate, our_rate = rate(raw), rate(ours)
    return {"raw_es256_verify_per_s": raw_rate, "token_decode_per_s": our_rate,
            "ratio": our_rate / raw_rate, "token_chars": len(token)}


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
    # import_employees.run() sets up Django in this process; roster_export.run() works in
    # subprocesses (BENCH_ROSTER_ROWS sets its size, 1,000,000 by default).
    from bench import import_employees, roster_export

    results = {"tokens": bench_tokens(), "rules": bench_rules(), "import": import_employees.run()}
    results["roster_export"] = roster_export.run()
    t, r = results["tokens"], results["rules"]
    print(f"{'figure':<44}{'value':>14}")
    print(f"{'raw ES256 verify (cryptography) /s':<44}{t['raw_es256_verify_per_s']:>14,.0f}")
    print(f"{'token decode + verify (codec) /s':<44}{t['token_decode_per_s']:>14,.0f}")
    print(f"{'  ratio to raw (goal >= 0.80)':<44}{t['ratio']:>14.2f}")
    print(f"{'rules.decide, Hubei + 14 check-ins /s':<44}{r['decide_hubei_14_checkins_per_s']:>14,.0f}")
    print(f"{'rules.decide, local green /s':<44}{r['decide_local_green_per_s']:>14,.0f}")
    secs = 1_000_000 / r["decide_hubei_14_checkins_per_s"]
    print(f"{'  1,000,000 such decisions would take (s)':<44}{secs:>14.1f}")
    import_employees.print_table(results["import"])
    roster_export.print_table(results["roster_export"])
    machine = {"python": platform.python_version(), "machine": platform.machine(),
               "processor": platform.processor(), "cpus": os.cpu_count(),
               "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    out = ROOT / "bench" / "results" / "core.json"
    out.write_text(json.dumps({"machine": machine, **results}, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")
    # The rule-set dry run over 1,000,000 codes sets up Django on its own database: a process
    # of its own (BENCH_CODES=100000 for a quick run).
    subprocess.run([sys.executable, str(ROOT / "bench" / "rule_dry_run.py")], check=True)


if __name__ == "__main__":
    main()
