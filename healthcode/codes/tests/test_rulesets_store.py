"""Rule sets as published data: the rule set in force (cached per process, seen by every
process), validation naming the rule and field, the dry run (counts by colour and district,
batched, writing nothing), publication licensed by a recent dry run of exactly that data, and
the re-derivation of every code with cause "rule_set"."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from healthcode.audit.models import AuditRecord
from healthcode.checkins.models import CheckIn
from healthcode.codes import rules, rulesets_store
from healthcode.codes import services as code_services
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
from healthcode.jobs.models import Job
from healthcode.lib.errors import ApiError
from healthcode.testing import declaration, id_number, make_user

pytestmark = pytest.mark.django_db

# The personas' fixtures (a city admin, a district admin of 450103).
city_admin = personas.city_admin
district_admin = personas.district_admin


# --- Helpers (also used by the back-office tests) ------------------------------------------------

# (district, kind, how many): local green, Guangdong (Shenzhen) yellow, Hubei (Wuhan) red.
SEED = (
    ("450103", "local", 2),
    ("450102", "local", 1),
    ("450103", "guangdong", 2),
    ("450102", "guangdong", 1),
    ("450105", "hubei", 1),
)
REGIONS = {"guangdong": "440300", "hubei": "420100"}


def seed_codes(start: int = 500) -> dict[str, list[HealthCode]]:
    """Codes of residents: local green, Guangdong yellow and Hubei red, in several districts."""
    arrival = (timezone.localdate() - timedelta(days=3)).isoformat()
    seeded: dict[str, list[HealthCode]] = {"local": [], "guangdong": [], "hubei": []}
    seq = start
    for district, kind, count in SEED:
        for _ in range(count):
            seq += 1
            phone = f"139{seq:08d}"
            extra = {}
            if kind != "local":
                extra = {
                    "returned_from_elsewhere": True,
                    "return_region": REGIONS[kind],
                    "arrival_date": arrival,
                }
            code = code_services.declare(
                account=make_user(phone),
                data=declaration(
                    phone=phone, id_number=id_number(seq=seq), district=district, **extra
                ),
            )
            seeded[kind].append(code)
    expected = {"local": "green", "guangdong": "yellow", "hubei": "red"}
    for kind, codes in seeded.items():
        assert all(c.color == expected[kind] for c in codes), kind
    return seeded


def candidate(version: int = 2, **region_colors: str) -> dict:
    """The packaged default as data, with a new version and Guangdong (440000) red (or the
    regions and colours given)."""
    data = copy.deepcopy(rules.load_rule_set("default").to_dict())
    data["version"] = version
    regions = data["rules"]["return_region"]["regions"]
    for code, color in (region_colors or {"440000": "red"}).items():
        regions.append({"code": code, "color": color})
    return data


@pytest.fixture(autouse=True)
def _fresh_rule_set_cache():
    """Each test starts and ends without a cached rule set (a rolled-back publication must
    not linger in this process)."""
    rulesets_store.clear_cache()
    yield
    rulesets_store.clear_cache()


def _dry_run_job(actor, data, capture) -> Job:
    with capture(execute=True):
        job = rulesets_store.start_dry_run(actor=actor, data=data)
    job.refresh_from_db()
    assert job.status == "done", job.error
    return job


# --- The rule set in force -----------------------------------------------------------------------


def test_it_uses_the_packaged_default_until_a_version_is_published():
    """Without a published version the packaged default is in force."""
    rule_set = rulesets_store.rule_set_in_force()
    assert (rule_set.id, rule_set.version) == ("nanning-2020", 1)
    assert rulesets_store.version_in_force() is None
    assert code_services.rule_set_in_force() is rule_set
    overview = rulesets_store.overview()
    assert overview["in_force"]["packaged"] is True and overview["history"] == []


def test_it_lets_another_process_see_a_new_rule_set():
    """A version published elsewhere (no on-commit hook ran here) is picked up once the
    cache is cleared or its staleness check runs; until then the cache answers without a
    query."""
    with override_settings(HEALTHCODE_RULE_SET_CHECK_SECONDS=3600):
        assert rulesets_store.rule_set_in_force().version == 1
        data = candidate()
        RuleSetVersion.objects.create(rule_set_id=data["id"], version=2, data=data)
        assert rulesets_store.rule_set_in_force().version == 1  # cached in this process
        rulesets_store.clear_cache()
        assert code_services.rule_set_in_force().version == 2
        assert rulesets_store.version_in_force().version == 2
    with override_settings(HEALTHCODE_RULE_SET_CHECK_SECONDS=0):
        data = candidate(version=3, **{"430000": "red"})
        RuleSetVersion.objects.create(rule_set_id=data["id"], version=3, data=data)
        assert rulesets_store.rule_set_in_force().version == 3  # the key check saw it


def test_it_checks_the_key_at_most_every_few_seconds(django_assert_num_queries):
    """Within the check interval the rule set in force costs no query at all."""
    with override_settings(HEALTHCODE_RULE_SET_CHECK_SECONDS=3600):
        rulesets_store.rule_set_in_force()
        with django_assert_num_queries(0):
            for _ in range(100):
                rulesets_store.rule_set_in_force()


# --- Validation ----------------------------------------------------------------------------------


def test_it_rejects_an_invalid_rule_set_naming_the_rule_and_field(city_admin):
    """Every problem names its rule and field; nothing is started or published."""
    data = candidate(**{"440000": "purple"})
    data["rules"]["contact"]["observation_days"] = -1
    with pytest.raises(ValidationError) as caught:
        rulesets_store.start_dry_run(actor=city_admin, data=data)
    messages = caught.value.message_dict["data"]
    assert any(m.startswith("return_region.regions[1].color:") for m in messages), messages
    assert any(m.startswith("contact.observation_days:") for m in messages), messages
    assert not Job.objects.exists() and not RuleSetVersion.objects.exists()


def test_it_requires_the_same_id_and_a_higher_version(city_admin):
    """A new version keeps the rule set's id and raises its version."""
    data = candidate(version=1)
    data["id"] = "another-set"
    with pytest.raises(ValidationError) as caught:
        rulesets_store.start_dry_run(actor=city_admin, data=data)
    messages = caught.value.message_dict["data"]
    assert any(m.startswith("rule_set.id:") for m in messages)
    assert any(m.startswith("rule_set.version:") for m in messages)


def test_it_rejects_text_that_is_not_a_json_object():
    """The page's text must parse as a JSON object."""
    with pytest.raises(ValidationError) as caught:
        rulesets_store.parse_data('{"id": ')
    assert "JSON" in caught.value.message_dict["data"][0]
    with pytest.raises(ValidationError):
        rulesets_store.parse_data("[1, 2]")


def test_it_refuses_dry_runs_and_publication_to_other_admins(district_admin):
    """Only city admins run dry runs and publish."""
    for call in (
        lambda: rulesets_store.start_dry_run(actor=district_admin, data=candidate()),
        lambda: rulesets_store.publish_rule_set(
            actor=district_admin, data=candidate(), note="", dry_run_job_id=None
        ),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (403, "city_admin_only")


# --- Dry run -------------------------------------------------------------------------------------


def test_it_counts_the_codes_that_would_change_colour_by_colour_and_district():
    """Guangdong red turns exactly the Guangdong codes from yellow to red, counted by
    district; nothing is written."""
    seeded = seed_codes()
    changes_before = ColorChange.objects.count()
    stored = list(HealthCode.objects.order_by("pk").values_list("pk", "color", "updated_at"))
    result = rulesets_store.dry_run(data=candidate())
    assert result["codes"] == 7 and result["changed"] == len(seeded["guangdong"]) == 3
    assert result["matrix"] == {
        "green": {"green": 3, "yellow": 0, "red": 0},
        "yellow": {"green": 0, "yellow": 0, "red": 3},
        "red": {"green": 0, "yellow": 0, "red": 1},
    }
    assert result["changes"] == [{"from": "yellow", "to": "red", "count": 3}]
    assert [(r["district"], r["from"], r["to"], r["count"]) for r in result["by_district"]] == [
        ("450102", "yellow", "red", 1),
        ("450103", "yellow", "red", 2),
    ]
    assert result["by_district"][0]["district_name"].endswith("兴宁区")
    assert (result["rule_set"], result["base"]) == ("nanning-2020@2", "nanning-2020@1")
    assert ColorChange.objects.count() == changes_before
    assert list(HealthCode.objects.order_by("pk").values_list("pk", "color", "updated_at")) == (
        stored
    )


def test_it_counts_nothing_for_an_unchanged_rule_set():
    """The rule set in force, as a candidate, changes no colour."""
    seed_codes()
    data = rulesets_store.rule_set_in_force().to_dict()
    result = rulesets_store.dry_run(data={**data, "version": 2})
    assert result["changed"] == 0 and result["by_district"] == []


def test_it_loads_facts_in_batches_not_per_code(django_assert_max_num_queries):
    """The dry run's queries do not grow with the number of codes in a batch."""
    seed_codes()
    with django_assert_max_num_queries(8):  # 5 per batch, the empty last batch, 1 key check
        rulesets_store.dry_run(data=candidate(), batch_size=100)


def test_it_loads_the_same_facts_as_facts_for():
    """The batched loader builds, for every kind of code, exactly the Facts facts_for builds
    (check-ins, reviews, official-list entries and confirmed manual colours included)."""
    seeded = seed_codes()
    now = timezone.now()
    today = timezone.localdate()
    yellow, red = seeded["guangdong"][0], seeded["hubei"][0]
    green = seeded["local"][0]
    sick = code_services.declare(
        account=make_user("13900000999"),
        data=declaration(
            phone="13900000999",
            id_number=id_number(seq=999),
            symptoms=["fever", "cough"],
            temperature="38.1",
        ),
    )
    HealthCode.objects.filter(pk=green.pk).update(temperature=None)
    for day in range(3):
        CheckIn.objects.create(
            code=yellow,
            day=today - timedelta(days=day),
            temperature=Decimal("36.4"),
            symptoms=["cough"] if day == 1 else [],
            in_nanning=True,
            new_contact=False,
            source="self",
            updated_at=now - timedelta(days=day),
        )
    Review.objects.create(code=yellow, outcome="refuse", note="再观察", decided_at=now)
    Review.objects.create(code=yellow, outcome="approve", decided_at=now + timedelta(hours=1))
    batch = OfficialListImport.objects.create(file_name="a.csv", sha256="0" * 64, imported_at=now)
    for days, withdrawn in ((2, None), (5, None), (1, now)):
        OfficialListEntry.objects.create(
            batch=batch,
            kind="close_contact",
            id_number_index=f"x{days}",
            code=red,
            listed_on=today - timedelta(days=days),
            withdrawn_at=withdrawn,
        )
    for status, decided in (("approved", now), ("pending", None), ("approved", None)):
        ManualColorRequest.objects.create(
            code=green, color="yellow", reason_code="r1", status=status, decided_at=decided
        )
    loaded = {
        pk: facts
        for batch_ in rulesets_store.iter_facts(batch_size=3)
        for pk, _district, _color, facts in batch_
    }
    codes = list(HealthCode.objects.all())
    assert set(loaded) == {c.pk for c in codes}
    for code in codes:
        assert loaded[code.pk] == code_services.facts_for(code), code.pk
    assert len(loaded[yellow.pk].checkins) == 3 and len(loaded[yellow.pk].reviews) == 2
    assert len(loaded[red.pk].official_lists) == 2 and len(loaded[green.pk].manual) == 1
    assert loaded[sick.pk].declaration.symptoms == {"fever", "cough"}
    assert loaded[sick.pk].declaration.temperature == 38.1
    assert loaded[green.pk].declaration.temperature is None


def test_it_runs_the_dry_run_as_a_background_job(
    city_admin,
    django_capture_on_commit_callbacks,
):
    """The job records the counts, the data's hash and the base rule set; the dry run is
    audited."""
    seed_codes()
    data = candidate()
    job = _dry_run_job(city_admin, data, django_capture_on_commit_callbacks)
    assert job.kind == "rule_dry_run" and job.total == job.done == HealthCode.objects.count()
    assert job.result["changed"] == 3
    assert job.result["data_hash"] == rulesets_store.data_hash(data)
    assert job.result["base"] == "nanning-2020@1"
    assert AuditRecord.objects.filter(action="rule_set_dry_run", actor=city_admin).count() == 1
    assert not RuleSetVersion.objects.exists()


# --- Publication and re-derivation ---------------------------------------------------------------


def test_it_refuses_to_publish_without_a_matching_recent_dry_run(
    city_admin,
    django_capture_on_commit_callbacks,
):
    """No dry run, a dry run of other data, or one older than an hour: nothing published."""
    seed_codes()
    data = candidate()

    def publish(job_id):
        with pytest.raises(ValidationError) as caught:
            rulesets_store.publish_rule_set(
                actor=city_admin, data=data, note="", dry_run_job_id=job_id
            )
        return caught.value.message_dict

    assert "dry_run_job" in publish(None)
    assert "dry_run_job" in publish(999999)
    other = _dry_run_job(
        city_admin,
        candidate(**{"440000": "yellow", "430000": "red"}),
        django_capture_on_commit_callbacks,
    )
    assert "dry_run_job" in publish(other.pk)
    old = _dry_run_job(city_admin, data, django_capture_on_commit_callbacks)
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(minutes=61))
    assert "dry_run_job" in publish(old.pk)
    assert not RuleSetVersion.objects.exists()


def test_it_publishes_and_rederives_every_code(
    city_admin,
    django_capture_on_commit_callbacks,
):
    """Publication stores the version, audits it, and re-derives every code with cause
    "rule_set": exactly the Guangdong codes change (yellow → red), each with a ColorChange row
    and an audit record; the rule set in force is the new one."""
    seeded = seed_codes()
    data = candidate()
    dry = _dry_run_job(city_admin, data, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        version, job = rulesets_store.publish_rule_set(
            actor=city_admin, data=data, note="广东省调整为红码", dry_run_job_id=dry.pk
        )
    version.refresh_from_db()
    job.refresh_from_db()
    assert (version.rule_set_id, version.version) == ("nanning-2020", 2)
    assert version.note == "广东省调整为红码"
    assert version.published_by == city_admin
    assert version.dry_run["changed"] == 3 and version.dry_run["job"] == dry.pk
    assert version.dry_run["rederive_job"] == job.pk
    assert rules.load_rule_set(version.data).match_region("440300").color == "red"
    assert job.kind == "rederive_all" and job.status == "done", job.error
    total = HealthCode.objects.count()  # the seeded codes and the city admin's own
    assert job.result == {"codes": total, "changed": 3, "rule_set": "nanning-2020@2"}
    assert rulesets_store.rule_set_in_force().version == 2
    assert set(HealthCode.objects.values_list("rule_set_version", flat=True)) == {2}
    guangdong = {c.pk for c in seeded["guangdong"]}
    assert set(HealthCode.objects.filter(pk__in=guangdong).values_list("color", flat=True)) == {
        "red"
    }
    changes = ColorChange.objects.filter(cause="rule_set")
    assert {c.code_id for c in changes} == guangdong
    assert {(c.color_from, c.color_to, c.rule_set_version) for c in changes} == {
        ("yellow", "red", 2)
    }
    colour_audits = AuditRecord.objects.filter(action="color_change", detail__cause="rule_set")
    assert colour_audits.count() == 3 and {a.actor_id for a in colour_audits} == {city_admin.pk}
    published = AuditRecord.objects.get(action="rule_set_publish")
    assert published.detail["rule_set"] == "nanning-2020@2" and published.actor == city_admin
    overview = rulesets_store.overview()
    assert overview["in_force"]["version"] == 2 and overview["in_force"]["packaged"] is False
    assert [v["version"] for v in overview["history"]] == [2]


def test_it_refuses_a_dry_run_made_against_an_older_rule_set(
    city_admin,
    django_capture_on_commit_callbacks,
):
    """Once another version is published, an earlier dry run no longer licenses anything."""
    seed_codes()
    first, later = candidate(version=2), candidate(version=3, **{"430000": "red"})
    dry_first = _dry_run_job(city_admin, first, django_capture_on_commit_callbacks)
    dry_later = _dry_run_job(city_admin, later, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        rulesets_store.publish_rule_set(
            actor=city_admin, data=first, note="", dry_run_job_id=dry_first.pk
        )
    with pytest.raises(ValidationError) as caught:
        rulesets_store.publish_rule_set(
            actor=city_admin, data=later, note="", dry_run_job_id=dry_later.pk
        )
    assert "dry_run_job" in caught.value.message_dict
    assert RuleSetVersion.objects.count() == 1
