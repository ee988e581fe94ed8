"""Rule sets as published data (SPEC §2: "rules are data, versioned"): which rule set is in
force, the dry run of a candidate, its publication, and the re-derivation of every code.

- **In force**: the published `RuleSetVersion` with the highest version (versions only ever
  increase, so it is also the newest), else the packaged default named by
  settings.HEALTHCODE_RULE_SET. `rule_set_in_force()` keeps it in memory per process and checks
  a cheap key (the id of that version) at most every HEALTHCODE_RULE_SET_CHECK_SECONDS (default
  5 s), so every process (web servers, the worker) picks up a publication within seconds without
  a query per decision. `clear_cache()` forgets it (publication does so on commit).
- **Dry run**: `dry_run(data=...)` decides every code with the candidate rule set and counts the
  codes whose colour would differ from the stored one (a from → to matrix, and by district),
  writing nothing. Facts are loaded in batches of FACTS_BATCH codes by codes.bulk.load_batch
  (`iter_facts`): a few queries per batch for the codes, their check-ins, reviews,
  official-list entries and manual colours, never one query per code; the clean check-ins of
  codes that have no risk under the candidate (most of them) are not even read.
  `start_dry_run` runs it as a background job ("rule_dry_run").
- **Publication**: `publish_rule_set` needs a finished dry run of exactly the same data (same
  hash), done within DRY_RUN_VALID_FOR against the rule set still in force; it stores the new
  version, audits, and starts the "rederive_all" job, which re-derives every code through
  `codes.services.rederive_all` (cause "rule_set"): REDERIVE_BATCH codes per transaction with
  their rows locked, decided in Python, the changed decisions written with one statement per
  batch, and their changes recorded (ColorChange rows, audit records) exactly as
  `codes.services.redecide` records them for any other event.

bench/rule_dry_run.py measures the dry run over 1,000,000 codes against `rules.decide` alone,
and the re-derivation's rate.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import is_city_admin
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.codes import bulk, rules
from healthcode.codes.choices import ChangeCause
from healthcode.codes.models import HealthCode, RuleSetVersion
from healthcode.jobs.models import Job, JobStatus
from healthcode.jobs.services import Progress, job_handler, start_job
from healthcode.lib.errors import ApiError
from healthcode.lib.masking import mask_phone

log = logging.getLogger(__name__)

DRY_RUN_KIND = "rule_dry_run"
REDERIVE_KIND = "rederive_all"
JOB_KINDS = (DRY_RUN_KIND, REDERIVE_KIND)
DRY_RUN_VALID_FOR = timedelta(hours=1)
FACTS_BATCH = 2000
REDERIVE_BATCH = 2000
CITY_ADMIN_ONLY = "city_admin_only"


# --- The rule set in force, cached per process ------------------------------------------------


@dataclass(frozen=True)
class _Cached:
    """The rule set in force in this process, and when its key was last checked."""

    key: tuple[str, int | None]  # (packaged default's name, id of the version in force)
    rule_set: rules.RuleSet
    version: RuleSetVersion | None
    checked_at: float  # time.monotonic() of the last key check


# Replaced as a whole, never mutated: threads see either the old or the new entry (two threads
# may load the same version at once, which is harmless).
_cache: _Cached | None = None


def _check_seconds() -> float:
    return float(getattr(settings, "HEALTHCODE_RULE_SET_CHECK_SECONDS", 5))


def _in_force() -> _Cached:
    global _cache
    cached = _cache
    now = time.monotonic()
    if cached is not None and now - cached.checked_at < _check_seconds():
        return cached
    # The cheap key: the id of the version in force (the highest version) from a tiny table.
    latest = (
        RuleSetVersion.objects.order_by("-version", "-published_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    key = (settings.HEALTHCODE_RULE_SET, latest)
    if cached is not None and cached.key == key:
        cached = _Cached(cached.key, cached.rule_set, cached.version, now)
    else:
        version = (
            RuleSetVersion.objects.select_related("published_by").filter(pk=latest).first()
            if latest
            else None
        )
        if version is not None:
            rule_set = rules.load_rule_set(version.data)
        else:
            rule_set = rules.load_rule_set(settings.HEALTHCODE_RULE_SET)
        cached = _Cached(key if version else (key[0], None), rule_set, version, now)
    _cache = cached
    return cached


def rule_set_in_force() -> rules.RuleSet:
    """The rule set that decides colours now: the latest published version, else the packaged
    default (settings.HEALTHCODE_RULE_SET). Cached per process; see the module docstring."""
    return _in_force().rule_set


def version_in_force() -> RuleSetVersion | None:
    """The published version in force, or None while the packaged default stands in."""
    return _in_force().version


def clear_cache() -> None:
    """Forget the cached rule set: the next call reads the database again."""
    global _cache
    _cache = None


def refresh_rule_set() -> rules.RuleSet:
    """The rule set in force, read from the database now (not from the cache)."""
    clear_cache()
    return rule_set_in_force()


def label(rule_set: rules.RuleSet) -> str:
    return f"{rule_set.id}@{rule_set.version}"


# --- Presenting ---------------------------------------------------------------------------------


def present_version(version: RuleSetVersion, *, with_data: bool = False) -> dict[str, Any]:
    """One published version: who, when, why, and what its dry run counted."""
    data: dict[str, Any] = {
        "id": version.pk,
        "rule_set_id": version.rule_set_id,
        "version": version.version,
        "name_zh": version.data.get("name_zh", ""),
        "name_en": version.data.get("name_en", ""),
        "note": version.note,
        "published_at": version.published_at,
        "published_by": mask_phone(version.published_by.phone) if version.published_by else "",
        "dry_run": version.dry_run or {},
        "rederive_job": (version.dry_run or {}).get("rederive_job"),
    }
    if with_data:
        data["data"] = version.data
    return data


def overview() -> dict[str, Any]:
    """The rule set in force (with its data) and the history of published versions."""
    cached = _in_force()
    version = cached.version
    if version is not None:
        in_force = present_version(version, with_data=True)
        in_force["packaged"] = False
    else:
        rule_set = cached.rule_set
        in_force = {
            "id": None,
            "rule_set_id": rule_set.id,
            "version": rule_set.version,
            "name_zh": rule_set.name_zh,
            "name_en": rule_set.name_en,
            "note": _("系统内置的默认规则集（依据 2020 年 2 月 21 日通告），尚未发布过新版本。"),
            "published_at": None,
            "published_by": "",
            "dry_run": {},
            "rederive_job": None,
            "data": rule_set.to_dict(),
            "packaged": True,
        }
    history = [
        present_version(v)
        for v in RuleSetVersion.objects.select_related("published_by").order_by(
            "-published_at", "-id"
        )
    ]
    return {"in_force": in_force, "history": history}


def data_hash(data: Mapping[str, Any]) -> str:
    """The identity of a rule set's data, independent of key order and whitespace: a dry run
    licenses the publication of exactly the data it was run on."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_data(text: str) -> dict[str, Any]:
    """The rule set typed into the page's text area, as data; ValidationError on bad JSON."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            {
                "data": [
                    _("规则集不是有效的 JSON：第 %(line)d 行第 %(col)d 列，%(msg)s。")
                    % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
                ]
            }
        ) from None
    return _require_object(data)


def _require_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError({"data": [_("规则集必须是一个 JSON 对象。")]})
    return dict(data)


def validate_candidate(data: Any) -> rules.RuleSet:
    """A candidate rule set: valid data (every RuleSetError as "<rule>.<field>: <message>"),
    the id of the rule set in force, and a version above the one in force."""
    data = _require_object(data)
    try:
        candidate = rules.load_rule_set(data)
    except rules.RuleSetError as exc:
        raise ValidationError({"data": list(exc.errors)}) from None
    in_force = rule_set_in_force()
    errors: list[str] = []
    if candidate.id != in_force.id:
        errors.append(
            "rule_set.id: "
            + _("规则集编号必须与现行规则集相同（%(id)s），只发布它的新版本。")
            % {"id": in_force.id}
        )
    if candidate.version <= in_force.version:
        errors.append(
            "rule_set.version: "
            + _("版本号必须大于现行规则集的版本 %(version)d。") % {"version": in_force.version}
        )
    if errors:
        raise ValidationError({"data": errors})
    return candidate


def _require_city_admin(user: Any) -> None:
    if not is_city_admin(user):
        raise ApiError(403, CITY_ADMIN_ONLY, _("仅市级管理员可以试运行和发布规则集。"))


# --- Facts in batches ---------------------------------------------------------------------------


def iter_facts(
    *, batch_size: int = FACTS_BATCH, codes: Any = None, rule_set: rules.RuleSet | None = None
) -> Iterator[list[tuple[int, str, str, rules.Facts]]]:
    """Every code's facts, in batches of `(pk, district, stored colour, Facts)` loaded by
    codes.bulk.load_batch: a few queries per batch (codes by primary key, their check-ins,
    reviews, official-list entries and confirmed manual colours), whatever the batch holds.

    `codes` narrows the codes (a HealthCode queryset); all by default. Without `rule_set` the
    Facts are exactly those facts_for builds (test_rulesets_store keeps it so); with one, the
    clean check-ins that cannot change a decision under it are left out (bulk.load_batch)."""
    base = codes if codes is not None else HealthCode.objects.all()
    names: dict[str, tuple[str, str]] = {}
    last = 0
    while True:
        batch = bulk.load_batch(
            base.filter(pk__gt=last), limit=batch_size, rule_set=rule_set, names=names
        )
        if not batch:
            return
        yield [(pk, district, color, facts) for pk, district, color, facts, _ in batch]
        last = batch[-1][0]


# --- Dry run ------------------------------------------------------------------------------------


def dry_run(
    *,
    data: Any,
    now: datetime | None = None,
    progress: Progress | None = None,
    batch_size: int = FACTS_BATCH,
) -> dict[str, Any]:
    """How many codes would change colour if `data` were published now: every code decided
    with the candidate rule set and compared with its stored colour. Writes nothing.

    Returns {"rule_set", "base", "evaluated_at", "codes", "changed", "matrix" (from → to →
    count, all nine cells), "changes" ([{"from", "to", "count"}]), "by_district" ([{"district",
    "district_name", "from", "to", "count"}]), "seconds"}."""
    from healthcode.regions import services as regions

    started = time.perf_counter()
    if isinstance(data, rules.RuleSet):
        candidate = data
    else:
        try:
            candidate = rules.load_rule_set(_require_object(data))
        except rules.RuleSetError as exc:
            raise ValidationError({"data": list(exc.errors)}) from None
    now = now or timezone.now()
    if progress is not None:
        progress.set_total(HealthCode.objects.count())
    matrix = {old: dict.fromkeys(rules.COLORS, 0) for old in rules.COLORS}
    by_district: Counter[tuple[str, str, str]] = Counter()
    decide = bulk.Decider(candidate).decide
    seen = 0
    for batch in iter_facts(batch_size=batch_size, rule_set=candidate):
        for _pk, district, stored, facts in batch:
            color = decide(facts, now).color
            row = matrix.get(stored)
            if row is None:  # a colour this rule set does not know (should not happen)
                row = matrix[stored] = dict.fromkeys(rules.COLORS, 0)
            row[color] += 1
            if color != stored:
                by_district[(district, stored, color)] += 1
        seen += len(batch)
        if progress is not None:
            progress.advance(len(batch))
    changes: Counter[tuple[str, str]] = Counter()
    for (_district, old, new), n in by_district.items():
        changes[(old, new)] += n
    order = {c: i for i, c in enumerate(rules.COLORS)}
    return {
        "rule_set": label(candidate),
        "base": label(rule_set_in_force()),
        "evaluated_at": now.isoformat(),
        "codes": seen,
        "changed": sum(changes.values()),
        "matrix": matrix,
        "changes": [
            {"from": old, "to": new, "count": n}
            for (old, new), n in sorted(
                changes.items(), key=lambda i: (order.get(i[0][0], 9), order.get(i[0][1], 9))
            )
        ],
        "by_district": [
            {
                "district": district,
                "district_name": regions.describe(district, "zh-hans"),
                "from": old,
                "to": new,
                "count": n,
            }
            for (district, old, new), n in sorted(
                by_district.items(),
                key=lambda i: (i[0][0], order.get(i[0][1], 9), order.get(i[0][2], 9)),
            )
        ],
        "seconds": round(time.perf_counter() - started, 3),
    }


def start_dry_run(*, actor: Any, data: Any, ip: str | None = None) -> Job:
    """Validate a candidate rule set (errors naming the rule and field; nothing stored) and
    start its dry run in the background. City admins only."""
    _require_city_admin(actor)
    data = _require_object(data)
    candidate = validate_candidate(data)
    digest = data_hash(data)
    base = label(rule_set_in_force())
    with transaction.atomic():
        job = start_job(
            kind=DRY_RUN_KIND,
            params={"data": data, "data_hash": digest, "rule_set": label(candidate), "base": base},
            requested_by=actor,
        )
        audit(
            action=AuditAction.RULE_SET_DRY_RUN,
            actor=actor,
            subject=job,
            ip=ip,
            detail={"rule_set": label(candidate), "base": base, "data_hash": digest},
        )
    return job


@job_handler(DRY_RUN_KIND)
def _run_dry_run(job: Job, progress: Progress) -> None:
    result = dry_run(data=job.params["data"], progress=progress)
    result["data_hash"] = job.params["data_hash"]
    # The base the candidate was validated against: publication requires it still in force.
    result["base"] = job.params["base"]
    progress.finish(result=result)


# --- Publication --------------------------------------------------------------------------------


def matching_dry_run(job_id: Any, digest: str, now: datetime | None = None) -> Job:
    """The finished dry run licensing the publication of the data with this hash: done, on
    exactly that data, within DRY_RUN_VALID_FOR, against the rule set still in force. Else
    ValidationError on `dry_run_job`."""
    now = now or timezone.now()
    if job_id in (None, ""):
        raise ValidationError(
            {"dry_run_job": [_("发布前必须先试运行这一版规则集，查看将有多少健康码改变颜色。")]}
        )
    try:
        pk = int(str(job_id))
    except ValueError:
        pk = 0
    job = Job.objects.filter(pk=pk, kind=DRY_RUN_KIND).first()
    if job is None:
        raise ValidationError({"dry_run_job": [_("找不到该试运行，请重新试运行。")]})
    if job.status != JobStatus.DONE:
        raise ValidationError({"dry_run_job": [_("试运行尚未完成，请等待完成后再发布。")]})
    if job.result.get("data_hash") != digest:
        raise ValidationError(
            {"dry_run_job": [_("规则集在试运行之后被修改过，请对修改后的规则集重新试运行。")]}
        )
    if job.finished_at is None or now - job.finished_at > DRY_RUN_VALID_FOR:
        raise ValidationError(
            {"dry_run_job": [_("试运行已超过 1 小时，数据可能已变化，请重新试运行。")]}
        )
    if job.result.get("base") != label(rule_set_in_force()):
        raise ValidationError({"dry_run_job": [_("试运行之后现行规则集已更新，请重新试运行。")]})
    return job


def publish_rule_set(
    *,
    actor: Any,
    data: Any,
    note: str,
    dry_run_job_id: Any,
    ip: str | None = None,
) -> tuple[RuleSetVersion, Job]:
    """Publish a new version of the rule set in force: validated, licensed by a finished dry
    run of exactly this data within the last hour; stored, audited, and every code then
    re-derived in the background ("rederive_all"). City admins only. Returns the version and
    the re-derivation job."""
    _require_city_admin(actor)
    data = _require_object(data)
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError({"note": [_("发布说明最多 500 个字符。")]})
    now = timezone.now()
    with transaction.atomic():
        candidate = validate_candidate(data)
        digest = data_hash(data)
        job = matching_dry_run(dry_run_job_id, digest, now)
        base = label(rule_set_in_force())
        summary = {
            key: job.result.get(key)
            for key in ("codes", "changed", "changes", "evaluated_at", "data_hash")
        }
        try:
            with transaction.atomic():
                version = RuleSetVersion.objects.create(
                    rule_set_id=candidate.id,
                    version=candidate.version,
                    data=candidate.to_dict(),
                    note=note,
                    published_by=actor if getattr(actor, "is_authenticated", False) else None,
                    published_at=now,
                    dry_run={**summary, "job": job.pk},
                )
        except IntegrityError:
            raise ValidationError(
                {
                    "data": [
                        "rule_set.version: "
                        + _("版本 %(version)d 已经发布过。") % {"version": candidate.version}
                    ]
                }
            ) from None
        rederive = start_job(kind=REDERIVE_KIND, params={"version": version.pk}, requested_by=actor)
        version.dry_run = {**version.dry_run, "rederive_job": rederive.pk}
        version.save(update_fields=["dry_run"])
        audit(
            action=AuditAction.RULE_SET_PUBLISH,
            actor=actor,
            subject=version,
            ip=ip,
            detail={
                "rule_set": label(candidate),
                "previous": base,
                "note": note,
                "dry_run_job": job.pk,
                "changed": job.result.get("changed"),
                "rederive_job": rederive.pk,
            },
        )
        # Registered before the job's enqueue: this process forgets the old rule set first.
        transaction.on_commit(clear_cache)
    return version, rederive


def rederive_codes(pks: list[int], *, actor: Any = None) -> tuple[int, int]:
    """Re-derive these codes with the rule set in force (cause "rule_set") in one
    transaction, their rows locked (a concurrent check-in or review waits, nothing is lost),
    through codes.services.redecide_many, which records and audits every change as redecide
    does. Returns (codes re-derived, codes whose colour changed)."""
    from healthcode.codes import services as code_services

    return code_services.redecide_many(
        pks, cause=ChangeCause.RULE_SET, actor=actor, batch_size=max(len(pks), 1)
    )


@job_handler(REDERIVE_KIND)
def _rederive_all(job: Job, progress: Progress) -> None:
    """Re-derive every code with the rule set in force, REDERIVE_BATCH codes per
    transaction (codes.services.rederive_all), with progress."""
    from healthcode.codes import services as code_services

    rule_set = refresh_rule_set()  # the worker's cache may predate the publication
    done, changed = code_services.rederive_all(
        cause=ChangeCause.RULE_SET,
        actor=job.requested_by,
        batch_size=REDERIVE_BATCH,
        progress=progress,
    )
    progress.finish(result={"codes": done, "changed": changed, "rule_set": label(rule_set)})
