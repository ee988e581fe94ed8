"""Facts and decisions for many codes at once: the one facts builder, the batched loader and
the batched re-derivation behind the sweep, the re-derivation after a rule-set change and the
dry run (SPEC §8: set-based or batched, never one query per code).

- `facts_from_rows` turns a code's declaration and related rows into `rules.Facts`; it is the
  only place facts are built: `services.facts_for` (one code) and `load_batch` (many) both
  call it.
- `load_batch` reads a batch of codes and what the rules engine weighs for them in a constant
  number of queries (the codes; their check-ins; reviews; official-list entries with their
  import; confirmed manual colours) as plain value rows. Given the rule set, it reads every
  check-in only of the codes that may have a risk under it, and for the others only the
  check-ins that are not clean (none, as it turns out): a clean check-in only ever counts
  towards clearing a risk, so without a risk the decision is the same (`risk_free`; a
  property test keeps it so). That spares most of a population's 30 days of check-ins.
- `Decider` decides with `rules.decide`, once per distinct declaration for risk-free codes
  (their decision depends on the declaration alone).
- `Rederivation` re-derives batch after batch, each in one transaction: the rows locked in
  key order by the query that reads them, decided in Python, only the codes whose stored
  decision changed written back, with one UPDATE on PostgreSQL (`write_back`); their history
  rows inserted in bulk (with `codes.signals.colors_changed` for the residents' messages, as
  post_save does for one row) and their audit records appended under one chain lock
  (`audit.services.audit_many`). What it stores, records, audits and tells residents is what
  `services.redecide` does code by code. On PostgreSQL two threads run the batches, so the
  database works on one while Python decides the other.

bench/rederive_probe.py measures it.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import FloatField, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit_many
from healthcode.codes import rules
from healthcode.codes.choices import RequestStatus
from healthcode.codes.models import (
    ColorChange,
    HealthCode,
    ManualColorRequest,
    OfficialListEntry,
    Review,
)
from healthcode.codes.signals import colors_changed
from healthcode.regions import services as regions

NO_SYMPTOMS: frozenset[str] = frozenset()
SUBJECT_TYPE = "codes.healthcode"  # HealthCode._meta.label_lower, as audit() stores it
# A batch whose primary keys are this dense is loaded by key range (one index range scan per
# table) rather than by a list of keys.
DENSE = 1.25


# --- The facts builder ----------------------------------------------------------------------


def symptom_set(value: Any) -> frozenset[str]:
    """Symptoms as the rules engine takes them, from a list, a JSON text or None."""
    if not value or value == "[]":
        return NO_SYMPTOMS
    if isinstance(value, str):
        value = json.loads(value)
    return frozenset(value) if value else NO_SYMPTOMS


def declaration_from_row(
    declared: Sequence[Any], *, names: dict[str, tuple[str, str]] | None = None
) -> rules.Declaration:
    """What the resident declared, from (returned_from_elsewhere, return_region,
    arrival_date, contact_with_case, contact_date, symptoms, temperature, attested_at).
    `names` caches the return regions' names across codes."""
    (returned, region, arrival, contact, contact_date, symptoms, temperature, declared_at) = (
        declared
    )
    name_zh = name_en = None
    if region:
        found = names.get(region) if names is not None else None
        if found is None:
            found = (regions.describe(region, "zh-hans"), regions.describe(region, "en"))
            if names is not None:
                names[region] = found
        name_zh, name_en = found
    return rules.Declaration(
        returned_from_elsewhere=returned,
        return_region=region,
        return_region_name_zh=name_zh,
        return_region_name_en=name_en,
        arrival_date=arrival,
        contact_with_case=contact,
        contact_date=contact_date,
        symptoms=symptom_set(symptoms),
        temperature=float(temperature) if temperature is not None else None,
        declared_at=declared_at,
    )


def facts_from_rows(
    declared: Sequence[Any] | rules.Declaration,
    checkins: Iterable[Sequence[Any]] = (),
    reviews: Iterable[Sequence[Any]] = (),
    entries: Iterable[Sequence[Any]] = (),
    manual: Iterable[Sequence[Any]] = (),
    *,
    names: dict[str, tuple[str, str]] | None = None,
) -> rules.Facts:
    """A code's facts from its rows:

    - `declared`: the declaration row (see `declaration_from_row`), or the Declaration;
    - `checkins`: (day, temperature, symptoms, in_nanning, new_contact, updated_at), by day;
    - `reviews`: (outcome, decided_at, note), by decision time;
    - `entries`: official-list entries not withdrawn, (kind, listed_on, imported_at);
    - `manual`: confirmed manual colours, (color, reason_code, decided_at).

    Temperatures may be Decimal or float; symptoms a list, JSON text or None."""
    declaration = (
        declared
        if isinstance(declared, rules.Declaration)
        else declaration_from_row(declared, names=names)
    )
    checkin, review = rules.CheckInFact, rules.ReviewFact
    official, confirmed = rules.OfficialListFact, rules.ManualFact
    # Most codes have none of these: no generator is made for them.
    return rules.Facts(
        declaration=declaration,
        checkins=tuple(
            checkin(day, float(temp), symptom_set(sym) if sym else NO_SYMPTOMS, here, new, at)
            for day, temp, sym, here, new, at in checkins
        )
        if checkins
        else (),
        reviews=tuple(review(outcome, at, note) for outcome, at, note in reviews)
        if reviews
        else (),
        official_lists=tuple(official(kind, on, at) for kind, on, at in entries) if entries else (),
        manual=tuple(confirmed(color, reason, at) for color, reason, at in manual)
        if manual
        else (),
    )


# --- Codes that cannot have a risk ---------------------------------------------------------


def is_clean(checkin: rules.CheckInFact, rule_set: rules.RuleSet) -> bool:
    """A check-in without fever, a counted symptom or a new contact: it raises no risk, and
    the rules engine weighs only its day, towards clearing risks."""
    sym = rule_set.symptoms
    return not (
        checkin.new_contact
        or checkin.temperature >= sym.fever_threshold
        or checkin.symptoms & sym.symptoms
    )


def declaration_may_raise_risk(declaration: rules.Declaration, rule_set: rules.RuleSet) -> bool:
    """Whether what the resident declared raises a risk (a colour other than green) under
    `rule_set`: a return region, a contact with a case, fever or symptoms."""
    if declaration.returned_from_elsewhere and (
        rule_set.region_color(declaration.return_region) != rules.GREEN
    ):
        return True
    if declaration.contact_with_case and rule_set.contact.color != rules.GREEN:
        return True
    sym = rule_set.symptoms
    return sym.color != rules.GREEN and bool(
        declaration.symptoms & sym.symptoms
        or (declaration.temperature is not None and declaration.temperature >= sym.fever_threshold)
    )


def risk_free(facts: rules.Facts, rule_set: rules.RuleSet) -> bool:
    """Facts that raise no risk under `rule_set`: a declaration that raises none, only clean
    check-ins, no official-list entry and no manual colour.

    The rules engine's decision for such facts is the decision for the declaration alone,
    whatever its clean check-ins, its reviews, when it was declared and when it is decided
    (clean days and reviews only ever clear risks; a property test keeps it so). So a batch
    need not read such codes' check-ins, and decides each distinct declaration once."""
    return (
        not facts.official_lists
        and not facts.manual
        and not declaration_may_raise_risk(facts.declaration, rule_set)
        and all(is_clean(checkin, rule_set) for checkin in facts.checkins)
    )


class Decider:
    """`rules.decide` for many codes under one rule set, with the decision of each distinct
    risk-free declaration made once (see `risk_free`) and its JSON built once."""

    def __init__(self, rule_set: rules.RuleSet, *, limit: int = 50000) -> None:
        self.rule_set = rule_set
        self.limit = limit
        self._memo: dict[tuple[Any, ...], tuple[rules.Decision, Any]] = {}

    def decide(self, facts: rules.Facts, now: datetime) -> rules.Decision:
        return self.decide_json(facts, now, as_json=False)[0]

    def decide_json(
        self, facts: rules.Facts, now: datetime, *, as_json: bool = True
    ) -> tuple[rules.Decision, Any]:
        """The decision and, when `as_json`, its (reasons, path_to_green) as stored."""
        rule_set = self.rule_set
        if facts.checkins or not risk_free(facts, rule_set):
            decided = rules.decide(facts, rule_set, now)
            return decided, _json_of(decided) if as_json else None
        d = facts.declaration
        key = (
            d.returned_from_elsewhere,
            d.return_region,
            d.return_region_name_zh,
            d.return_region_name_en,
            d.arrival_date,
            d.contact_with_case,
            d.contact_date,
            d.symptoms,
            d.temperature,
        )
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= self.limit:
                self._memo.clear()
            decided = rules.decide(facts, rule_set, now)
            found = self._memo[key] = (decided, None)
        if as_json and found[1] is None:
            found = self._memo[key] = (found[0], _json_of(found[0]))
        return found


def _json_of(decided: rules.Decision) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        [reason.to_json() for reason in decided.reasons],
        [step.to_json() for step in decided.path_to_green],
    )


# --- Loading a batch ------------------------------------------------------------------------

_DECLARED = (
    "pk",
    "district_id",
    "color",
    "returned_from_elsewhere",
    "return_region_id",
    "arrival_date",
    "contact_with_case",
    "contact_date",
    "symptoms_text",
    "temperature_float",
    "attested_at",
)
_STORED = (
    "reasons_text",
    "path_text",
    "rule_set_id",
    "rule_set_version",
    "next_change_at",
)
_CHECKIN = (
    "code_id",
    "day",
    "temperature_float",
    "symptoms_text",
    "in_nanning",
    "new_contact",
    "updated_at",
)


def _rows(query: QuerySet[Any]) -> Iterable[Sequence[Any]]:
    """The rows of a values_list query. On PostgreSQL straight from the cursor: the driver
    already gives the Python values (floats, dates, aware datetimes, JSON as text), so the
    per-row converters of the ORM are skipped."""
    if connection.vendor != "postgresql":
        return query
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _group(rows: Iterable[Sequence[Any]]) -> dict[int, list[Sequence[Any]]]:
    """Rows keyed by their first column (the code), the rest of each row kept in order."""
    grouped: dict[int, list[Sequence[Any]]] = {}
    for row in rows:
        found = grouped.get(row[0])
        if found is None:
            grouped[row[0]] = [row[1:]]
        else:
            found.append(row[1:])
    return grouped


def _of_codes(pks: list[int]) -> Q:
    """The rows of these codes (sorted keys): by key range when the batch is dense, else by
    the list of keys. A range may hold codes outside the batch; they are ignored."""
    first, last = pks[0], pks[-1]
    if last - first + 1 <= len(pks) * DENSE:
        return Q(code_id__gte=first, code_id__lte=last)
    return Q(code_id__in=pks)


def _checkins(pks: list[int], *, risky_above: float | None = None) -> dict[int, list[Any]]:
    from healthcode.checkins.models import CheckIn

    rows = CheckIn.objects.filter(_of_codes(pks)).annotate(
        # A float straight from the database, and the JSON text: most check-ins declare no
        # symptom, and "[]" needs no parsing.
        temperature_float=Cast("temperature", FloatField()),
        symptoms_text=Cast("symptoms", TextField()),
    )
    if risky_above is not None:
        # Every check-in that is not clean, and a few more (a symptom the rule set does not
        # count, a temperature just under the threshold): a superset, decided in Python.
        rows = rows.filter(Q(temperature__gte=risky_above) | Q(new_contact=True) | ~Q(symptoms=[]))
    return _group(_rows(rows.order_by("code_id", "day").values_list(*_CHECKIN)))


def load_batch(
    codes: QuerySet[HealthCode],
    *,
    limit: int | None = None,
    lock: bool = False,
    rule_set: rules.RuleSet | None = None,
    stored: bool = False,
    names: dict[str, tuple[str, str]] | None = None,
) -> list[tuple[Any, ...]]:
    """The first `limit` codes of `codes` by primary key (all without a limit), their rows
    locked when `lock` (in key order, by the query that reads them), with their facts: a list
    of (pk, district, colour, Facts, stored), where `stored` is (reasons JSON text,
    path_to_green JSON text, rule_set_id, rule_set_version, next_change_at) when asked for,
    else None.

    Five queries for any batch (codes, check-ins, reviews, official-list entries, manual
    colours); with `rule_set`, the check-ins that are not clean first and then every check-in
    of the codes whose clean check-ins matter under it (one more query), so the Facts of the
    other codes leave out clean check-ins that cannot change their decision."""
    fields = _DECLARED + _STORED if stored else _DECLARED
    annotations: dict[str, Any] = {
        "temperature_float": Cast("temperature", FloatField()),
        "symptoms_text": Cast("symptoms", TextField()),
    }
    if stored:
        annotations["reasons_text"] = Cast("reasons", TextField())
        annotations["path_text"] = Cast("path_to_green", TextField())
    if lock:
        codes = codes.select_for_update()
    query = codes.annotate(**annotations).order_by("pk").values_list(*fields)
    rows = list(_rows(query[:limit] if limit is not None else query))
    if not rows:
        return []
    pks = [row[0] for row in rows]
    of_codes = _of_codes(pks)
    if rule_set is None:
        checkins = _checkins(pks)
    else:
        # A margin below the threshold (temperatures have one decimal) keeps it a superset
        # whatever the rounding of the comparison in the database.
        checkins = _checkins(pks, risky_above=rule_set.symptoms.fever_threshold - 0.1)
    reviews = _group(
        _rows(
            Review.objects.filter(of_codes)
            .order_by("code_id", "decided_at", "id")
            .values_list("code_id", "outcome", "decided_at", "note")
        )
    )
    # Only what the rules engine weighs, in the models' default orderings.
    entries = _group(
        _rows(
            OfficialListEntry.objects.filter(of_codes, withdrawn_at__isnull=True)
            .order_by("code_id", "-listed_on", "-id")
            .values_list("code_id", "kind", "listed_on", "batch__imported_at")
        )
    )
    manual = _group(
        _rows(
            ManualColorRequest.objects.filter(
                of_codes, status=RequestStatus.APPROVED, decided_at__isnull=False
            )
            .order_by("code_id", "-requested_at", "-id")
            .values_list("code_id", "color", "reason_code", "decided_at")
        )
    )
    if names is None:
        names = {}
    declarations = [declaration_from_row(row[3:11], names=names) for row in rows]
    if rule_set is not None:
        # Every check-in only for the codes that may have a risk (one more query); the others
        # have only clean check-ins, which cannot change their decision (`risk_free`).
        needy = [
            row[0]
            for row, declaration in zip(rows, declarations, strict=True)
            if row[0] in checkins
            or row[0] in entries
            or row[0] in manual
            or declaration_may_raise_risk(declaration, rule_set)
        ]
        checkins = _checkins(needy) if needy else {}
    return [
        (
            row[0],
            row[1],
            row[2],
            facts_from_rows(
                declaration,
                checkins.get(row[0], ()),
                reviews.get(row[0], ()),
                entries.get(row[0], ()),
                manual.get(row[0], ()),
            ),
            row[11:] if stored else None,
        )
        for row, declaration in zip(rows, declarations, strict=True)
    ]


# --- Re-deriving a batch --------------------------------------------------------------------


def reason_rules(reasons: Iterable[dict[str, Any]]) -> list[str]:
    """The rules a decision's reasons name: a change of them is a change worth a history row."""
    return [r.get("rule", "") for r in reasons]


def change_detail(
    *, old_color: str, color: str, cause: str, reasons: list[dict[str, Any]], rule_set: str
) -> dict[str, Any]:
    """The audit detail of a colour (or reasons) change."""
    return {
        "from": old_color or None,
        "to": color,
        "cause": cause,
        "rules": reason_rules(reasons),
        "rule_set": rule_set,
    }


class _JsonTexts:
    """Stored JSON texts parsed once: many codes store the very same reasons and path."""

    def __init__(self, limit: int = 20000) -> None:
        self.parsed: dict[str, Any] = {}
        self.limit = limit

    def __call__(self, text: str | None) -> Any:
        if text is None:
            return None
        found = self.parsed.get(text)
        if found is None:
            if len(self.parsed) >= self.limit:
                self.parsed.clear()
            found = self.parsed[text] = json.loads(text)
        return found


def default_workers() -> int:
    """Threads for a batch run: two on PostgreSQL (the database works on one batch while
    Python decides another), one on SQLite (one writer at a time) or inside a transaction
    (other threads could not see its work)."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return 2
    return 1


class Rederivation:
    """One run over many codes (a sweep, a re-derivation after a rule-set change): the rule
    set, the cause, the actor, the counts and the caches shared by its batches."""

    def __init__(self, *, rule_set: rules.RuleSet, cause: str, actor: Any = None) -> None:
        self.rule_set = rule_set
        self.cause = cause
        self.actor = actor if getattr(actor, "is_authenticated", False) else None
        self.decider = Decider(rule_set)
        self.names: dict[str, tuple[str, str]] = {}
        self.json = _JsonTexts()
        self.examined = 0
        self.written = 0  # codes whose stored decision changed
        self.changed = 0  # codes whose colour changed
        self._counting = threading.Lock()

    def batch(self, codes: QuerySet[HealthCode], *, now: datetime) -> int:
        """Re-derive the codes of `codes` in one transaction, their rows locked in key order
        by the query that reads them; returns how many there were."""
        with transaction.atomic():
            loaded = load_batch(
                codes, lock=True, rule_set=self.rule_set, stored=True, names=self.names
            )
            written, colours = self._decide_and_store(loaded, now)
        with self._counting:
            self.examined += len(loaded)
            self.written += written
            self.changed += colours
        return len(loaded)

    def run(
        self,
        batches: Iterable[QuerySet[HealthCode]],
        *,
        now: datetime | None = None,
        workers: int = 1,
        advance: Callable[[int], None] | None = None,
    ) -> None:
        """Re-derive batch after batch, each at `now` or else at the time it starts, and call
        `advance` with the size of each once it is done. With several `workers` (PostgreSQL,
        outside a transaction) the batches run in as many threads, each with its own
        connection and transactions, so one batch's queries and writes overlap another's
        work in Python. Inside a transaction one thread does all (other threads could not see
        its work, and would wait for the rows it holds)."""
        if workers <= 1 or connection.in_atomic_block:
            for codes in batches:
                done = self.batch(codes, now=now or timezone.now())
                if advance is not None:
                    advance(done)
            return
        self._in_threads(batches, now=now, workers=workers, advance=advance or (lambda n: None))

    def _in_threads(
        self,
        batches: Iterable[QuerySet[HealthCode]],
        *,
        now: datetime | None,
        workers: int,
        advance: Callable[[int], None],
    ) -> None:
        tasks: queue.SimpleQueue[QuerySet[HealthCode] | None] = queue.SimpleQueue()
        results: queue.SimpleQueue[int | BaseException] = queue.SimpleQueue()
        failed = threading.Event()

        def work() -> None:
            try:
                while not failed.is_set():
                    codes = tasks.get()
                    if codes is None:
                        return
                    results.put(self.batch(codes, now=now or timezone.now()))
            except BaseException as exc:  # handed to the caller's thread
                failed.set()
                results.put(exc)
            finally:
                connections.close_all()  # this thread's own connection

        threads = [
            threading.Thread(target=work, name=f"rederive-{i}", daemon=True) for i in range(workers)
        ]
        for thread in threads:
            thread.start()
        error: BaseException | None = None
        waiting = 0

        def collect(block: bool) -> None:
            nonlocal error, waiting
            while waiting:
                try:
                    got = results.get(block=block)
                except queue.Empty:
                    return
                waiting -= 1
                if isinstance(got, BaseException):
                    error = error or got
                else:
                    advance(got)
                block = False

        try:
            for codes in batches:
                if failed.is_set():
                    break
                tasks.put(codes)
                waiting += 1
                if waiting >= 2 * workers:  # a bounded look-ahead
                    collect(block=True)
        finally:
            for _ in threads:
                tasks.put(None)
            for thread in threads:
                thread.join()
        while waiting and not results.empty():
            collect(block=False)
        if error is not None:
            raise error

    def _decide_and_store(self, loaded: list[tuple[Any, ...]], now: datetime) -> tuple[int, int]:
        """Decide the loaded codes and store what changed; returns (codes written, codes whose
        colour changed)."""
        rule_set = self.rule_set
        rs_id, rs_version = rule_set.id, rule_set.version
        label = f"{rs_id}@{rs_version}"
        decide = self.decider.decide_json
        parse = self.json
        updates: list[tuple[Any, ...]] = []
        history: list[ColorChange] = []
        audits: list[dict[str, Any]] = []
        colours = 0
        for pk, _district, old_color, facts, stored in loaded:
            old_reasons_text, old_path_text, old_rs_id, old_rs_version, old_next = stored
            decided, (reasons, path) = decide(facts, now)
            color = decided.color
            # As services.redecide stores it: the next moment the stored decision changes by
            # time alone.
            next_change_at = decided.next_update_at or decided.next_change_at
            old_reasons = parse(old_reasons_text) or []
            new_reasons = reasons != old_reasons
            new_path = path != (parse(old_path_text) or [])
            changed_color = color != old_color
            if not (
                changed_color
                or new_reasons
                or new_path
                or next_change_at != old_next
                or rs_id != old_rs_id
                or rs_version != old_rs_version
            ):
                continue  # the stored decision stands: nothing to write
            updates.append(
                (
                    pk,
                    color,
                    reasons if new_reasons else None,
                    path if new_path else None,
                    next_change_at,
                    now if changed_color else None,
                )
            )
            if changed_color or reason_rules(reasons) != reason_rules(old_reasons):
                colours += changed_color
                history.append(
                    ColorChange(
                        code_id=pk,
                        at=now,
                        color_from=old_color or "",
                        color_to=color,
                        reasons=reasons,
                        rule_set_id=rs_id,
                        rule_set_version=rs_version,
                        cause=self.cause,
                    )
                )
                audits.append(
                    {
                        "action": AuditAction.COLOR_CHANGE,
                        "actor": self.actor,
                        "subject_type": SUBJECT_TYPE,
                        "subject_id": str(pk),
                        "detail": change_detail(
                            old_color=old_color,
                            color=color,
                            cause=self.cause,
                            reasons=reasons,
                            rule_set=label,
                        ),
                    }
                )
        if updates:
            write_back(updates, rule_set_id=rs_id, rule_set_version=rs_version, updated_at=now)
        if history:
            ColorChange.objects.bulk_create(history, batch_size=1000)
            # What post_save of each row would have set off (the residents' notifications).
            colors_changed.send(sender=ColorChange, changes=history)
            audit_many(audits)
        return len(updates), colours


def write_back(
    updates: list[tuple[Any, ...]],
    *,
    rule_set_id: str,
    rule_set_version: int,
    updated_at: datetime,
) -> None:
    """Store new decisions: one UPDATE for the whole batch on PostgreSQL (from arrays), one
    statement executed per row elsewhere. Each update is (pk, color, reasons or None,
    path_to_green or None, next_change_at, color_since or None); None keeps the stored
    value."""
    table = connection.ops.quote_name(HealthCode._meta.db_table)
    dumps = json.dumps
    if connection.vendor == "postgresql":
        # The batch as one JSON document, read back into rows by the database: no parameter
        # per value, and JSON columns embedded as they are.
        sql = f"""
            UPDATE {table} AS c SET
                color = v.color,
                reasons = COALESCE(v.reasons, c.reasons),
                path_to_green = COALESCE(v.path_to_green, c.path_to_green),
                rule_set_id = %s,
                rule_set_version = %s,
                next_change_at = v.next_change_at,
                color_since = COALESCE(v.color_since, c.color_since),
                updated_at = %s
            FROM jsonb_to_recordset(%s::jsonb) AS v(
                id bigint, color varchar, reasons jsonb, path_to_green jsonb,
                next_change_at timestamptz, color_since timestamptz
            )
            WHERE c.id = v.id
        """
        rows = [
            {
                "id": pk,
                "color": color,
                "reasons": reasons,
                "path_to_green": path,
                "next_change_at": next_change_at.isoformat() if next_change_at else None,
                "color_since": since.isoformat() if since else None,
            }
            for pk, color, reasons, path, next_change_at, since in updates
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, [rule_set_id, rule_set_version, updated_at, dumps(rows)])
        return
    adapt = connection.ops.adapt_datetimefield_value
    sql = f"""
        UPDATE {table} SET
            color = %s,
            reasons = COALESCE(%s, reasons),
            path_to_green = COALESCE(%s, path_to_green),
            rule_set_id = %s,
            rule_set_version = %s,
            next_change_at = %s,
            color_since = COALESCE(%s, color_since),
            updated_at = %s
        WHERE id = %s
    """
    stamp = adapt(updated_at)
    rows = [
        (
            color,
            dumps(reasons) if reasons is not None else None,
            dumps(path) if path is not None else None,
            rule_set_id,
            rule_set_version,
            adapt(next_change_at),
            adapt(since),
            stamp,
            pk,
        )
        for pk, color, reasons, path, next_change_at, since in updates
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
