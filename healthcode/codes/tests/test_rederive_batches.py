"""Re-deriving codes in batches (codes.bulk): the sweep, the re-derivation after a rule-set
change and redecide_many store, record and audit exactly what `redecide` does code by code,
on a population that takes every path to a colour; a second run changes nothing; the audit
chain verifies; the number of queries does not grow with the codes in a batch; the sweep
touches only the codes that are due."""

from __future__ import annotations

import copy
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from healthcode.accounts import sms
from healthcode.audit.chain import verify_chain
from healthcode.audit.models import AuditRecord
from healthcode.checkins.models import CheckIn
from healthcode.codes import bulk, rules, rulesets_store, services
from healthcode.codes.models import (
    ColorChange,
    HealthCode,
    ManualColorRequest,
    OfficialListEntry,
    OfficialListImport,
    Review,
    RuleSetVersion,
)
from healthcode.enterprises.tests import conftest as personas
from healthcode.notifications.models import Notification
from healthcode.testing import declaration, id_number, make_user

pytestmark = pytest.mark.django_db

city_admin = personas.city_admin

# Check-ins: (days before today, temperature, symptoms, new contact).
CLEAN = ("36.5", [], False)
FEVER = ("38.2", ["fever"], False)
CONTACT = ("36.6", [], True)
OTHER = ("36.6", ["other"], False)  # counted by the default rule set, not by the variant
WARM = ("37.2", [], False)  # under every threshold here, but within the loader's margin


def _declare(seq: int, **extra) -> HealthCode:
    phone = f"139{seq:08d}"
    return services.declare(
        account=make_user(phone),
        data=declaration(phone=phone, id_number=id_number(seq=seq), **extra),
    )


def _checkins(code: HealthCode, today, kinds) -> None:
    for days_ago, (temperature, symptoms, contact) in kinds:
        day = today - timedelta(days=days_ago)
        CheckIn.objects.create(
            code=code,
            day=day,
            temperature=Decimal(temperature),
            symptoms=symptoms,
            in_nanning=True,
            new_contact=contact,
            source="self",
            created_at=timezone.now() - timedelta(days=days_ago),
            updated_at=timezone.now() - timedelta(days=days_ago),
        )


def population() -> list[HealthCode]:
    """Codes taking every path: never left, back from elsewhere in Guangxi, Guangdong and
    Hubei (with and without approving reviews), a declared contact, declared symptoms and
    fever, check-ins with fever, a symptom or a new contact, clean check-ins, a refusal, an
    official list entry (and a withdrawn one), manual colours (confirmed and pending)."""
    today = timezone.localdate()
    now = timezone.now()
    arrived = {n: (today - timedelta(days=n)).isoformat() for n in (3, 10, 13, 20)}
    made = []
    seq = 700
    shapes = [
        {},  # local, green
        {"temperature": "37.1"},
        {"returned_from_elsewhere": True, "return_region": "450200", "arrival_date": arrived[3]},
        {"returned_from_elsewhere": True, "return_region": "440300", "arrival_date": arrived[3]},
        {"returned_from_elsewhere": True, "return_region": "440300", "arrival_date": arrived[13]},
        {"returned_from_elsewhere": True, "return_region": "420100", "arrival_date": arrived[10]},
        {"returned_from_elsewhere": True, "return_region": "420100", "arrival_date": arrived[20]},
        {"returned_from_elsewhere": True, "return_region": "110000", "arrival_date": arrived[10]},
        {"contact_with_case": True, "contact_date": arrived[3]},
        {"symptoms": ["cough"], "temperature": "36.8"},
        {"temperature": "38.0"},
    ]
    for shape in shapes * 2:
        seq += 1
        made.append(_declare(seq, **shape))
    codes = {i: code for i, code in enumerate(made)}
    # Facts added behind the services' back, so stored decisions are stale and both paths
    # have something to change.
    _checkins(codes[0], today, [(d, CLEAN) for d in range(0, 30)])
    _checkins(codes[1], today, [(1, FEVER), (0, CLEAN)])
    _checkins(codes[2], today, [(2, CONTACT)])
    _checkins(codes[3], today, [(d, CLEAN) for d in range(0, 4)])
    _checkins(codes[4], today, [(d, CLEAN) for d in range(0, 14)])
    _checkins(codes[5], today, [(d, CLEAN) for d in range(0, 11)])
    _checkins(codes[6], today, [(d, CLEAN) for d in range(0, 21)])
    _checkins(codes[11], today, [(0, OTHER), (1, CLEAN), (2, WARM)])
    _checkins(codes[12], today, [(0, WARM), (1, CLEAN)])
    _checkins(codes[14], today, [(d, CLEAN) for d in range(0, 10)] + [(12, OTHER)])
    _checkins(codes[16], today, [(d, CLEAN) for d in range(0, 14)])
    for i in (4, 5, 6, 15, 16):
        Review.objects.create(code=codes[i], outcome="approve", decided_at=now)
    Review.objects.create(code=codes[17], outcome="refuse", note="材料不全", decided_at=now)
    batch = OfficialListImport.objects.create(file_name="a.csv", sha256="1" * 64, imported_at=now)
    for i, withdrawn in ((13, None), (18, now)):
        OfficialListEntry.objects.create(
            batch=batch,
            kind="close_contact",
            id_number_index=f"e{i}",
            code=codes[i],
            listed_on=today - timedelta(days=2),
            withdrawn_at=withdrawn,
        )
    ManualColorRequest.objects.create(
        code=codes[19], color="red", reason_code="fever_clinic", status="approved", decided_at=now
    )
    ManualColorRequest.objects.create(code=codes[20], color="yellow", reason_code="fever_clinic")
    return made


def variant(version: int = 2) -> dict:
    """The default rule set with Guangdong red, "other" no longer counted and a higher fever
    threshold: colours, reasons and the clean check-ins all change."""
    data = copy.deepcopy(rules.load_rule_set("default").to_dict())
    data["version"] = version
    data["rules"]["return_region"]["regions"].append({"code": "440000", "color": "red"})
    sym = data["rules"]["symptoms"]
    sym["symptoms"] = [s for s in sym["symptoms"] if s != "other"]
    sym["fever_threshold"] = 37.5
    return data


def publish(data: dict) -> None:
    RuleSetVersion.objects.create(rule_set_id=data["id"], version=data["version"], data=data)
    rulesets_store.clear_cache()


def marks() -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        model.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for model in (ColorChange, AuditRecord, Notification)
    )


def snapshot(since: tuple[int, int, int]) -> dict:
    """What a re-derivation stored, recorded, audited and told the residents (the audit
    records' times and hashes aside, and the ids of the messages they name)."""
    return {
        "codes": list(
            HealthCode.objects.order_by("pk").values_list(
                "pk",
                "color",
                "reasons",
                "path_to_green",
                "rule_set_id",
                "rule_set_version",
                "next_change_at",
                "color_since",
            )
        ),
        "changes": sorted(
            ColorChange.objects.filter(id__gt=since[0]).values_list(
                "code_id",
                "at",
                "color_from",
                "color_to",
                "reasons",
                "rule_set_id",
                "rule_set_version",
                "cause",
            )
        ),
        "audits": sorted(
            (
                subject_id if subject_type == "codes.healthcode" else "",
                action,
                actor,
                subject_type,
                sorted(detail.items()),
            )
            for action, actor, subject_type, subject_id, detail in AuditRecord.objects.filter(
                id__gt=since[1]
            ).values_list("action", "actor_id", "subject_type", "subject_id", "detail")
        ),
        "messages": sorted(
            Notification.objects.filter(id__gt=since[2]).values_list(
                "recipient_id", "code_id", "kind", "title", "body", "title_en", "body_en"
            )
        ),
    }


def one_by_one(*, cause: str, now: datetime, actor=None) -> dict:
    """What redecide stores code by code at `now`; rolled back."""
    since = marks()
    with transaction.atomic():
        for code in HealthCode.objects.order_by("pk"):
            services.redecide(code, cause=cause, now=now, actor=actor)
        stored = snapshot(since)
        transaction.set_rollback(True)
    return stored


@pytest.mark.parametrize("days_later", [0, 1, 15])
def test_it_stores_what_redecide_stores_after_a_rule_set_change(days_later):
    """Every code re-derived in batches (of 4) under a new rule set, now and later: the same
    colours, reasons, paths, next changes, history rows and audit records as redecide code
    by code; the chain verifies; a second run writes nothing."""
    population()
    admin = make_user("13800009999")
    publish(variant())
    now = timezone.now() + timedelta(days=days_later)
    expected = one_by_one(cause="rule_set", now=now, actor=admin)
    assert expected["changes"], "the population must change"
    since = marks()
    examined, changed = services.rederive_all(cause="rule_set", now=now, actor=admin, batch_size=4)
    got = snapshot(since)
    assert got == expected
    assert examined == HealthCode.objects.count()
    assert changed == sum(1 for c in got["changes"] if c[2] != c[3])
    assert got["messages"], "colour changes are told"
    assert verify_chain().ok
    out = StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert f"{AuditRecord.objects.count()} records verified" in out.getvalue()

    # Idempotent: nothing is written the second time, not even updated_at.
    before = list(HealthCode.objects.order_by("pk").values_list("pk", "updated_at"))
    since = marks()
    assert services.rederive_all(cause="rule_set", now=now, batch_size=4) == (examined, 0)
    assert marks() == since
    assert list(HealthCode.objects.order_by("pk").values_list("pk", "updated_at")) == before


def test_the_rederive_job_after_publication_stores_what_redecide_stores(
    city_admin, django_capture_on_commit_callbacks, monkeypatch
):
    """Publishing a rule set runs the "rederive_all" job (here in batches of 4): it reports
    its progress over every code and stores the colours, reasons and history that redecide
    gives code by code (up to the instants, taken as it runs)."""
    population()
    data = variant()
    monkeypatch.setattr(rulesets_store, "REDERIVE_BATCH", 4)
    with django_capture_on_commit_callbacks(execute=True):
        dry = rulesets_store.start_dry_run(actor=city_admin, data=data)
    dry.refresh_from_db()
    assert dry.status == "done", dry.error
    with transaction.atomic():
        publish(data)
        expected = one_by_one(cause="rule_set", now=timezone.now(), actor=city_admin)
        transaction.set_rollback(True)
    rulesets_store.clear_cache()
    since = marks()
    with django_capture_on_commit_callbacks(execute=True):
        _version, job = rulesets_store.publish_rule_set(
            actor=city_admin, data=data, note="", dry_run_job_id=dry.pk
        )
    job.refresh_from_db()
    assert job.status == "done", job.error
    total = HealthCode.objects.count()
    assert (job.total, job.done) == (total, total)
    got = snapshot(since)
    moved = {c[0] for c in expected["changes"] if c[2] != c[3]}
    assert job.result == {"codes": total, "changed": len(moved), "rule_set": "nanning-2020@2"}

    def without_instants(stored: dict) -> dict:
        return {
            "codes": [row[:7] for row in stored["codes"]],
            "changes": [row[:1] + row[2:] for row in stored["changes"]],
            # The publication's own record aside.
            "audits": [a for a in stored["audits"] if a[1] in ("color_change", "notification")],
            "messages": stored["messages"],
        }

    assert without_instants(got) == without_instants(expected)
    assert verify_chain().ok


def test_it_texts_the_residents_as_redecide_does(settings, django_capture_on_commit_callbacks):
    """The same SMS, to the same phones, once the batch commits."""
    settings.HEALTHCODE_SMS_BACKEND = "locmem"
    population()
    publish(variant())
    now = timezone.now()
    sms.outbox.clear()
    with transaction.atomic():
        with django_capture_on_commit_callbacks(execute=True):
            for code in HealthCode.objects.order_by("pk"):
                services.redecide(code, cause="rule_set", now=now)
        transaction.set_rollback(True)
    expected = sorted((m["to"], m["text"]) for m in sms.outbox)
    assert expected
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.rederive_all(cause="rule_set", now=now, batch_size=5)
    assert sorted((m["to"], m["text"]) for m in sms.outbox) == expected
    sms.outbox.clear()


def test_it_stores_what_redecide_stores_for_chosen_codes():
    """redecide_many over some codes (keys in any order, or a queryset) equals redecide for
    each of them, and leaves the others alone."""
    made = population()
    chosen = [c.pk for c in made[::3]]
    now = timezone.now() + timedelta(days=2)
    since = marks()
    with transaction.atomic():
        for code in HealthCode.objects.filter(pk__in=chosen).order_by("pk"):
            services.redecide(code, cause="review", now=now)
        expected = snapshot(since)
        transaction.set_rollback(True)
    assert services.redecide_many(reversed(chosen), cause="review", now=now, batch_size=2)[0] == (
        len(chosen)
    )
    assert snapshot(since) == expected
    assert services.redecide_many(
        HealthCode.objects.filter(pk__in=chosen), cause="review", now=now
    ) == (len(chosen), 0)
    assert marks()[0] == since[0] + len(expected["changes"])


def test_it_decides_as_the_rules_engine_from_all_the_facts():
    """The loader leaves out check-ins only for codes without a risk; deciding the batch's
    facts gives, code by code, what rules.decide gives over facts_for."""
    population()
    rule_set = rules.load_rule_set(variant())
    now = timezone.now()
    batches = list(rulesets_store.iter_facts(batch_size=5, rule_set=rule_set))
    decider = bulk.Decider(rule_set)
    seen = 0
    for batch in batches:
        for pk, _district, _color, facts in batch:
            full = services.facts_for(HealthCode.objects.get(pk=pk))
            if facts.checkins != full.checkins:
                assert facts.checkins == () and bulk.risk_free(full, rule_set), pk
                assert facts == rules.Facts(
                    full.declaration, (), full.reviews, full.official_lists, full.manual
                )
            else:
                assert facts == full, pk
            assert decider.decide(facts, now) == rules.decide(full, rule_set, now), pk
            seen += 1
    assert seen == HealthCode.objects.count()


def test_it_loads_a_batch_in_a_constant_number_of_queries():
    """A batch costs the same queries with 3 codes or with 22 (all of them changing)."""

    def queries(n: int) -> int:
        with transaction.atomic():
            chosen = list(HealthCode.objects.order_by("pk").values_list("pk", flat=True)[:n])
            with CaptureQueriesContext(connection) as captured:
                services.redecide_many(chosen, cause="rule_set", batch_size=100)
            transaction.set_rollback(True)
        return len(captured)

    population()
    publish(variant())
    services.rule_set_in_force()  # loaded once per process, not per batch
    assert HealthCode.objects.count() >= 22
    assert queries(3) == queries(22)


# --- The sweep --------------------------------------------------------------------------------


def _due_codes(count: int, start: int) -> list[HealthCode]:
    """Codes back from Hubei 13 days ago with an approving review: due at the end of their
    observation."""
    arrival = (timezone.localdate() - timedelta(days=13)).isoformat()
    made = []
    for seq in range(start, start + count):
        code = _declare(
            seq, returned_from_elsewhere=True, return_region="420100", arrival_date=arrival
        )
        _checkins(code, timezone.localdate(), [(d, CLEAN) for d in range(0, 14)])
        Review.objects.create(code=code, outcome="approve")
        services.redecide(code, cause="review")
        code.refresh_from_db()
        assert code.next_change_at is not None
        made.append(code)
    return made


def test_the_sweep_stores_what_redecide_stores():
    """The sweep at a later time equals redecide of exactly the due codes, cause "sweep"."""
    population()
    due = _due_codes(3, start=800)
    later = max(c.next_change_at for c in due) + timedelta(minutes=1)
    due_pks = set(HealthCode.objects.filter(next_change_at__lte=later).values_list("pk", flat=True))
    assert {c.pk for c in due} <= due_pks
    since = marks()
    with transaction.atomic():
        for code in HealthCode.objects.filter(pk__in=due_pks).order_by("pk"):
            services.redecide(code, cause="sweep", now=later)
        expected = snapshot(since)
        transaction.set_rollback(True)
    assert services.sweep(now=later, batch_size=2) == len(due_pks)
    assert snapshot(since) == expected
    assert {c.color for c in HealthCode.objects.filter(pk__in=[c.pk for c in due])} == {"green"}
    assert services.sweep(now=later, batch_size=2) == 0
    assert verify_chain().ok


def test_the_sweep_touches_only_the_codes_that_are_due():
    """Codes not due are never read, even when their stored decision is stale."""
    population()  # stale decisions (facts added behind the services' back), none due
    due = _due_codes(2, start=900)
    later = max(c.next_change_at for c in due) + timedelta(seconds=1)
    HealthCode.objects.exclude(pk__in=[c.pk for c in due]).update(next_change_at=None)
    before = dict(HealthCode.objects.values_list("pk", "updated_at"))
    assert services.sweep(now=later) == 2
    after = dict(HealthCode.objects.values_list("pk", "updated_at"))
    assert {pk for pk in before if before[pk] != after[pk]} == {c.pk for c in due}


def test_the_sweep_queries_per_batch_not_per_code():
    """Sweeping 2 or 8 due codes in one batch costs the same number of queries."""

    def queries(count: int, start: int) -> int:
        with transaction.atomic():
            due = _due_codes(count, start=start)
            later = max(c.next_change_at for c in due) + timedelta(seconds=1)
            with CaptureQueriesContext(connection) as captured:
                assert services.sweep(now=later) == count
            transaction.set_rollback(True)
        return len(captured)

    assert queries(2, 300) == queries(8, 400)


# --- Two threads on PostgreSQL ----------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_rederives_in_two_threads_on_postgresql(regions):
    """Outside a transaction on PostgreSQL the batches run in two threads, each with its own
    connection: the same result as redecide code by code, the chain intact."""
    if connection.vendor != "postgresql":
        pytest.skip("threads need PostgreSQL")
    population()
    admin = make_user("13800009999")
    publish(variant())
    now = timezone.now() + timedelta(days=1)
    expected = one_by_one(cause="rule_set", now=now, actor=admin)
    since = marks()
    assert bulk.default_workers() == 2
    examined, _ = services.rederive_all(cause="rule_set", now=now, actor=admin, batch_size=3)
    assert examined == HealthCode.objects.count()
    assert snapshot(since) == expected
    assert verify_chain().ok


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_stops_the_threads_and_is_raised(regions):
    """An error in one thread's batch reaches the caller; the threads end, nothing hangs."""
    if connection.vendor != "postgresql":
        pytest.skip("threads need PostgreSQL")
    population()
    run = bulk.Rederivation(rule_set=services.rule_set_in_force(), cause="rule_set")
    batches = [HealthCode.objects.filter(pk__lte=3), HealthCode.objects.extra(where=["nonsense"])]
    batches += [HealthCode.objects.filter(pk=pk) for pk in range(4, 40)]
    with pytest.raises(Exception, match="nonsense"):
        run.run(batches, workers=2)
    assert run.examined < HealthCode.objects.count()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_check_in_racing_a_rederivation_is_never_lost(regions):
    """A fever check-in holds its code's row while the re-derivation after a rule-set change
    reaches it: the re-derivation waits for the row and decides from the facts as committed,
    so the code ends yellow (a re-derivation that read the facts before the lock would write
    the stale green back)."""
    if connection.vendor != "postgresql":
        pytest.skip("a race needs PostgreSQL")
    code = _declare(600)
    publish(variant())
    locked = threading.Event()
    errors: list[BaseException] = []

    def check_in() -> None:
        try:
            with transaction.atomic():
                row = HealthCode.objects.select_for_update().get(pk=code.pk)
                _checkins(row, timezone.localdate(), [(0, FEVER)])
                services.redecide(row, cause="checkin")
                locked.set()
                time.sleep(0.5)  # the re-derivation reaches the row meanwhile
        except BaseException as exc:  # handed to the test
            errors.append(exc)
        finally:
            locked.set()
            connection.close()

    def rederive() -> None:
        try:
            locked.wait(timeout=30)
            services.rederive_all(cause="rule_set", workers=1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=check_in), threading.Thread(target=rederive)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    code.refresh_from_db()
    assert (code.color, code.rule_set_version) == ("yellow", 2)
    assert list(
        ColorChange.objects.filter(code=code).order_by("id").values_list("color_to", flat=True)
    ) == ["green", "yellow"]
