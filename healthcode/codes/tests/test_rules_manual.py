"""The rules engine's facts from the authorities: official lists (确诊、疑似、无症状感染者、密切接触者)
and manual colours (人工赋码) with the rule set's closed list of reasons — examples, validation
and hypothesis properties (never milder with such a fact, determinism, never stuck). Pure: no
database needed."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcode.codes.rules import (
    CheckInFact,
    Declaration,
    Facts,
    ManualFact,
    OfficialListFact,
    ReviewFact,
    RuleSet,
    RuleSetError,
    decide,
    load_rule_set,
    severity,
)
from healthcode.codes.tests.test_rules_properties import (
    PROPERTY_SETTINGS,
    checkins_for,
    facts_and_now,
)

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
DEFAULT = load_rule_set("default")


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2020, month, day, hour, minute, tzinfo=TZ)


NEVER_LEFT = Declaration(
    returned_from_elsewhere=False,
    return_region=None,
    arrival_date=None,
    contact_with_case=False,
    contact_date=None,
    symptoms=frozenset(),
    temperature=36.5,
    declared_at=at(2, 1),
)


def clean(first: date, last: date) -> tuple[CheckInFact, ...]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return tuple(
        CheckInFact(
            day=d,
            temperature=36.5,
            symptoms=frozenset(),
            in_nanning=True,
            new_contact=False,
            at=datetime.combine(d, time(8), TZ),
        )
        for d in days
    )


def listed(
    kind: str = "close_contact", on: date = date(2020, 2, 10), **kw: Any
) -> OfficialListFact:
    return OfficialListFact(kind=kind, listed_on=on, at=kw.get("at", at(2, 11, 15)))


def manual(color: str = "red", code: str = "epi_close_contact", when: datetime | None = None):
    return ManualFact(color=color, reason_code=code, decided_at=when or at(2, 11, 15))


def steps_of(decision: Any) -> list[str]:
    return [s.rule for s in decision.path_to_green]


def variant(mutate: Any) -> RuleSet:
    data = copy.deepcopy(DEFAULT.to_dict())
    mutate(data)
    return load_rule_set(data)


# --- Official lists -------------------------------------------------------------------------


def test_it_turns_a_listed_person_red_naming_the_list_and_its_date() -> None:
    """A close contact on the health commission's list is red under the rule official_list;
    the reason names the list kind and the date, in Chinese and English; the path asks for a
    review, the 14-day observation from the day listed and daily check-ins."""
    facts = Facts(NEVER_LEFT, official_lists=(listed(),))
    decision = decide(facts, DEFAULT, at(2, 11, 16))

    assert decision.color == "red"
    reason = decision.reasons[0]
    assert reason.rule == "official_list"
    assert "密切接触者" in reason.text_zh and "2020-02-10" in reason.text_zh
    assert "close contacts" in reason.text_en and "2020-02-10" in reason.text_en
    assert reason.facts == {
        "kind": "close_contact",
        "listed_on": "2020-02-10",
        "color": "red",
        "status": "active",
    }
    assert steps_of(decision) == [
        "review",
        "official_list.observation",
        "official_list.checkins",
        "automatic_green",
    ]
    observation = decision.path_to_green[1]
    assert observation.from_date == date(2020, 2, 24)
    assert decision.next_change_at is None  # nothing clears without a review


@pytest.mark.parametrize(
    ("kind", "zh", "en"),
    [
        ("confirmed", "确诊病例", "confirmed cases"),
        ("suspected", "疑似病例", "suspected cases"),
        ("asymptomatic", "无症状感染者", "asymptomatic infections"),
    ],
)
def test_it_names_every_kind_of_list(kind: str, zh: str, en: str) -> None:
    """Each list kind is named in the reason."""
    decision = decide(Facts(NEVER_LEFT, official_lists=(listed(kind),)), DEFAULT, at(2, 12))
    assert decision.color == "red"
    assert zh in decision.reasons[0].text_zh and en in decision.reasons[0].text_en


def test_it_clears_a_listing_after_approval_observation_and_check_ins() -> None:
    """An approval decided after the entry was recorded lets the code turn green by itself
    once the observation from the day listed has ended and the daily check-ins are done."""
    facts = Facts(
        NEVER_LEFT,
        checkins=clean(date(2020, 2, 11), date(2020, 2, 23)),
        reviews=(ReviewFact("approve", at(2, 12)),),
        official_lists=(listed(),),
    )
    decision = decide(facts, DEFAULT, at(2, 20))
    assert decision.color == "red"
    assert decision.next_change_at == datetime(2020, 2, 24, tzinfo=TZ)
    assert decide(facts, DEFAULT, at(2, 24, 0)).color == "green"


def test_it_ignores_an_approval_before_the_listing() -> None:
    """An approval decided before the entry was recorded does not clear it."""
    facts = Facts(
        NEVER_LEFT,
        checkins=clean(date(2020, 2, 11), date(2020, 3, 10)),
        reviews=(ReviewFact("approve", at(2, 11, 14)),),
        official_lists=(listed(at=at(2, 11, 15)),),
    )
    decision = decide(facts, DEFAULT, at(3, 11))
    assert decision.color == "red"
    assert steps_of(decision)[0] == "review"
    assert decision.path_to_green[0].done is False


def test_it_counts_check_ins_only_from_the_day_recorded() -> None:
    """Check-ins before the entry was recorded do not count: a listing recorded on 02-20 for
    someone listed on 02-10 needs check-ins from 02-20 to the end of the observation."""
    entry = listed(at=at(2, 20, 10))
    facts = Facts(
        NEVER_LEFT,
        checkins=clean(date(2020, 2, 11), date(2020, 2, 22)),
        reviews=(ReviewFact("approve", at(2, 20, 11)),),
        official_lists=(entry,),
    )
    decision = decide(facts, DEFAULT, at(2, 24, 12))
    assert decision.color == "red"
    checkins = next(s for s in decision.path_to_green if s.rule == "official_list.checkins")
    assert checkins.from_date == date(2020, 2, 20)
    assert "共需 4 天，已完成 3 天" in checkins.text_zh


def test_it_takes_the_observation_and_colour_of_the_rule_set() -> None:
    """official_list.observation_days and color come from the rule set; a rule set without the
    rule uses red and 14 days."""
    seven = variant(lambda d: d["rules"]["official_list"].update(observation_days=7))
    facts = Facts(
        NEVER_LEFT,
        checkins=clean(date(2020, 2, 11), date(2020, 2, 17)),
        reviews=(ReviewFact("approve", at(2, 12)),),
        official_lists=(listed(),),
    )
    assert decide(facts, seven, at(2, 16, 12)).next_change_at == datetime(2020, 2, 17, tzinfo=TZ)
    assert decide(facts, seven, at(2, 17, 0)).color == "green"
    assert decide(facts, DEFAULT, at(2, 17, 0)).color == "red"

    yellow = variant(lambda d: d["rules"]["official_list"].update(color="yellow"))
    assert decide(Facts(NEVER_LEFT, official_lists=(listed(),)), yellow, at(2, 12)).color == (
        "yellow"
    )

    without = copy.deepcopy(DEFAULT.to_dict())
    del without["rules"]["official_list"]
    legacy = load_rule_set(without)
    assert legacy.official_list.color == "red" and legacy.official_list.observation_days == 14


def test_it_shows_one_reason_for_the_same_listing_imported_twice() -> None:
    """The same person on the same list twice (two imports) is one reason; two lists are two."""
    again = listed(at=at(2, 12, 9))
    facts = Facts(NEVER_LEFT, official_lists=(listed(), again))
    rules = [r.rule for r in decide(facts, DEFAULT, at(2, 13)).reasons]
    assert rules.count("official_list") == 1
    two = Facts(NEVER_LEFT, official_lists=(listed(), listed("suspected")))
    rules = [r.rule for r in decide(two, DEFAULT, at(2, 13)).reasons]
    assert rules.count("official_list") == 2


# --- Manual colours -------------------------------------------------------------------------


def test_it_applies_a_manual_colour_with_the_reason_and_its_rule() -> None:
    """A confirmed manual red is red under the rule "manual"; its text is the closed list's
    reason with the published rule it applies and the day it was confirmed."""
    decision = decide(Facts(NEVER_LEFT, manual=(manual(),)), DEFAULT, at(2, 12))
    assert decision.color == "red"
    reason = decision.reasons[0]
    assert reason.rule == "manual"
    assert "流调确认的密切接触者" in reason.text_zh
    assert "接触确诊、疑似或无症状感染者" in reason.text_zh and "2020-02-11" in reason.text_zh
    assert "Close contact confirmed by epidemiological investigation" in reason.text_en
    assert reason.facts["reason_code"] == "epi_close_contact"
    assert reason.facts["rule"] == "contact"
    assert reason.facts["status"] == "active" and reason.facts["color"] == "red"
    assert steps_of(decision) == ["review", "automatic_green"]
    assert decision.next_change_at is None


def test_it_keeps_a_manual_colour_until_an_approval_after_it() -> None:
    """An approval before the manual colour or a refusal after it keeps it; an approval after
    it clears it at once (it has no observation period of its own)."""
    red = manual(when=at(2, 11, 15))
    before = Facts(NEVER_LEFT, reviews=(ReviewFact("approve", at(2, 11, 14)),), manual=(red,))
    assert decide(before, DEFAULT, at(3, 30)).color == "red"
    refused = Facts(
        NEVER_LEFT, reviews=(ReviewFact("refuse", at(2, 12), "仍在排查"),), manual=(red,)
    )
    decision = decide(refused, DEFAULT, at(2, 13))
    assert decision.color == "red"
    assert [r.rule for r in decision.reasons][:2] == ["manual", "review"]
    approved = Facts(NEVER_LEFT, reviews=(ReviewFact("approve", at(2, 12)),), manual=(red,))
    decision = decide(approved, DEFAULT, at(2, 12, 1))
    assert decision.color == "green"
    assert "manual" not in [r.rule for r in decision.reasons]


def test_it_needs_a_review_for_a_manual_yellow_whatever_the_rule_set() -> None:
    """Even when the rule set reviews only red codes, a manual yellow waits for an approval."""
    rule_set = variant(lambda d: d.update(review_colors=["red"]))
    facts = Facts(NEVER_LEFT, manual=(manual("yellow", "fever_clinic"),))
    decision = decide(facts, rule_set, at(4, 1))
    assert decision.color == "yellow"
    assert steps_of(decision)[0] == "review"


def test_it_makes_a_manual_colour_a_new_risk_event() -> None:
    """A code approved and waiting for its observation to end goes back to waiting for a
    review when a manual colour is confirmed after the approval."""
    hubei = replace(
        NEVER_LEFT,
        returned_from_elsewhere=True,
        return_region="420100",
        arrival_date=date(2020, 2, 1),
    )
    checkins = clean(date(2020, 2, 1), date(2020, 2, 20))
    approved = Facts(hubei, checkins=checkins, reviews=(ReviewFact("approve", at(2, 2)),))
    assert decide(approved, DEFAULT, at(2, 16)).color == "green"
    later = replace(approved, manual=(manual("yellow", "false_declaration", at(2, 16, 10)),))
    decision = decide(later, DEFAULT, at(2, 16, 11))
    assert decision.color == "red"  # the Hubei return is no longer cleared either
    assert [r.rule for r in decision.reasons][:2] == ["return_region", "manual"]
    again = replace(later, reviews=(*later.reviews, ReviewFact("approve", at(2, 16, 12))))
    assert decide(again, DEFAULT, at(2, 16, 13)).color == "green"


def test_it_shows_a_manual_reason_the_rule_set_no_longer_lists_by_its_code() -> None:
    """A reason code missing from the rule set in force is still a red, named by its code."""
    decision = decide(
        Facts(NEVER_LEFT, manual=(manual(code="retired_reason"),)), DEFAULT, at(2, 12)
    )
    assert decision.color == "red"
    assert "retired_reason" in decision.reasons[0].text_zh
    assert decision.reasons[0].facts["rule"] is None


def test_it_ignores_a_manual_green() -> None:
    """Only yellow and red can be set by hand; anything else is not a risk."""
    assert decide(Facts(NEVER_LEFT, manual=(manual("green"),)), DEFAULT, at(2, 12)).color == "green"


# --- The closed list in the rule set ---------------------------------------------------------


def test_it_publishes_the_closed_list_of_manual_reasons() -> None:
    """The default rule set lists the reasons of the notice's practice, each tied to a
    published rule, and round-trips them through to_dict."""
    codes = [r.code for r in DEFAULT.manual_reasons]
    assert {"epi_close_contact", "undeclared_travel", "fever_clinic", "false_declaration"} <= set(
        codes
    )
    texts = {r.code: r.text_zh for r in DEFAULT.manual_reasons}
    assert texts["epi_close_contact"] == "流调确认的密切接触者"
    assert texts["undeclared_travel"] == "隐瞒中高风险地区旅居史"
    assert texts["fever_clinic"] == "发热门诊就诊待排查"
    assert texts["false_declaration"] == "申报信息经核查不实"
    assert DEFAULT.manual_reason("epi_close_contact").colors == ("red",)
    assert DEFAULT.manual_reason("fever_clinic").colors == ("yellow", "red")
    assert DEFAULT.manual_reason("nope") is None
    assert all(
        r.rule in ("contact", "return_region", "official_list", "symptoms")
        for r in DEFAULT.manual_reasons
    )
    data = DEFAULT.to_dict()
    assert data["manual_reasons"][0]["code"] == codes[0]
    assert data["rules"]["official_list"] == {"color": "red", "observation_days": 14}
    assert load_rule_set(data) == DEFAULT
    without = copy.deepcopy(data)
    del without["manual_reasons"]
    assert load_rule_set(without).manual_reasons == ()


def _reason(**overrides: Any) -> dict[str, Any]:
    item = {
        "code": "x_ray",
        "text_zh": "影像学异常",
        "text_en": "Abnormal imaging",
        "colors": ["red"],
    }
    item["rule"] = "symptoms"
    item.update(overrides)
    return item


@pytest.mark.parametrize(
    ("mutate", "prefix"),
    [
        (lambda d: d.update(manual_reasons={}), "manual_reasons: must be a list"),
        (lambda d: d["manual_reasons"].append("x"), "manual_reasons[5]: must be an object"),
        (lambda d: d["manual_reasons"].append(_reason(code="X Ray")), "manual_reasons[5].code:"),
        (
            lambda d: d["manual_reasons"].append(_reason(code="fever_clinic")),
            "manual_reasons[5].code: duplicate reason fever_clinic",
        ),
        (lambda d: d["manual_reasons"].append(_reason(text_zh=" ")), "manual_reasons[5].text_zh:"),
        (lambda d: d["manual_reasons"].append(_reason(text_en=3)), "manual_reasons[5].text_en:"),
        (lambda d: d["manual_reasons"].append(_reason(colors=[])), "manual_reasons[5].colors:"),
        (lambda d: d["manual_reasons"].append(_reason(colors="red")), "manual_reasons[5].colors:"),
        (
            lambda d: d["manual_reasons"].append(_reason(colors=["red", "green"])),
            "manual_reasons[5].colors[1]: unknown colour 'green'",
        ),
        (
            lambda d: d["manual_reasons"].append(_reason(colors=["red", "red"])),
            "manual_reasons[5].colors[1]: duplicate",
        ),
        (
            lambda d: d["manual_reasons"].append(_reason(rule="quarantine")),
            "manual_reasons[5].rule: unknown rule 'quarantine'",
        ),
        (
            lambda d: d["manual_reasons"].append(
                {k: v for k, v in _reason().items() if k != "rule"}
            ),
            "manual_reasons[5].rule: is missing",
        ),
        (lambda d: d["manual_reasons"].append(_reason(extra=1)), "manual_reasons[5].extra:"),
        (lambda d: d["rules"]["official_list"].update(color="pink"), "official_list.color:"),
        (
            lambda d: d["rules"]["official_list"].update(observation_days=-3),
            "official_list.observation_days:",
        ),
        (lambda d: d["rules"].update(official_list=[]), "official_list: must be an object"),
        (lambda d: d["rules"]["official_list"].pop("color"), "official_list.color: is missing"),
    ],
)
def test_it_names_the_rule_and_field_of_each_manual_reason_error(mutate: Any, prefix: str) -> None:
    """Bad manual reasons and a bad official-list rule are reported as "<rule>.<field>: ..."
    and nothing loads."""
    data = copy.deepcopy(DEFAULT.to_dict())
    assert len(data["manual_reasons"]) == 5
    mutate(data)
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(data)
    assert any(e.startswith(prefix) for e in caught.value.errors), caught.value.errors


def test_it_accepts_a_new_reason() -> None:
    """A well-formed reason added to the list can be used at once."""
    data = copy.deepcopy(DEFAULT.to_dict())
    data["manual_reasons"].append(_reason(colors=["red", "yellow"]))
    rule_set = load_rule_set(data)
    assert rule_set.manual_reason("x_ray").colors == ("yellow", "red")
    decision = decide(Facts(NEVER_LEFT, manual=(manual("yellow", "x_ray"),)), rule_set, at(2, 12))
    assert decision.color == "yellow" and "影像学异常" in decision.reasons[0].text_zh
    assert "发热或症状" in decision.reasons[0].text_zh


# --- Properties -----------------------------------------------------------------------------

REASON_CODES = [r.code for r in DEFAULT.manual_reasons] + ["retired_reason"]


def _with_official_rule(rule_set: RuleSet, color: str, days: int) -> RuleSet:
    data = copy.deepcopy(rule_set.to_dict())
    data["rules"]["official_list"] = {"color": color, "observation_days": days}
    return load_rule_set(data)


@st.composite
def official_facts(draw: st.DrawFn, decl: Declaration) -> OfficialListFact:
    base = decl.declared_at.astimezone(TZ).date()
    return OfficialListFact(
        kind=draw(st.sampled_from(["confirmed", "suspected", "asymptomatic", "close_contact"])),
        listed_on=base + timedelta(days=draw(st.integers(-20, 30))),
        at=decl.declared_at + timedelta(minutes=draw(st.integers(-24 * 60, 40 * 24 * 60))),
    )


@st.composite
def manual_facts(draw: st.DrawFn, decl: Declaration) -> ManualFact:
    return ManualFact(
        color=draw(st.sampled_from(["yellow", "red"])),
        reason_code=draw(st.sampled_from(REASON_CODES)),
        decided_at=decl.declared_at + timedelta(minutes=draw(st.integers(-24 * 60, 40 * 24 * 60))),
    )


@st.composite
def authority_cases(draw: st.DrawFn) -> tuple[Facts, RuleSet, datetime]:
    """The engine's usual generated facts and rule sets, with official-list entries, manual
    colours and official-list rules of every colour and length added."""
    facts, rule_set, now = draw(facts_and_now())
    if draw(st.booleans()):
        rule_set = _with_official_rule(
            rule_set, draw(st.sampled_from(["green", "yellow", "red"])), draw(st.integers(0, 21))
        )
    decl = facts.declaration
    facts = replace(
        facts,
        official_lists=tuple(draw(st.lists(official_facts(decl), max_size=2))),
        manual=tuple(draw(st.lists(manual_facts(decl), max_size=2))),
    )
    return facts, rule_set, now


def _severity(facts: Facts, rule_set: RuleSet, now: datetime) -> int:
    return severity(decide(facts, rule_set, now).color)


@PROPERTY_SETTINGS
@given(authority_cases(), st.randoms(use_true_random=False))
def test_it_is_deterministic_with_lists_and_manual_colours(case: Any, random: Any) -> None:
    """The same facts and time give an equal, well-formed decision whatever the order of the
    facts and the time zone of `now`; the worst active reason is the colour."""
    facts, rule_set, now = case
    decision = decide(facts, rule_set, now)
    assert decide(facts, rule_set, now) == decision
    shuffled = {}
    for name in ("checkins", "reviews", "official_lists", "manual"):
        items = list(getattr(facts, name))
        random.shuffle(items)
        shuffled[name] = tuple(items)
    assert decide(replace(facts, **shuffled), rule_set, now) == decision
    assert decide(facts, rule_set, now.astimezone(UTC)) == decision
    data = decision.to_json()
    assert json.loads(json.dumps(data)) == data
    assert (decision.path_to_green == ()) == (decision.color == "green")
    active = [r.facts["color"] for r in decision.reasons if r.facts.get("status") == "active"]
    assert max((severity(c) for c in active), default=0) == severity(decision.color)


@PROPERTY_SETTINGS
@given(authority_cases(), st.data())
def test_it_never_gets_milder_with_an_official_list_entry(case: Any, data: st.DataObject) -> None:
    """Adding an official-list entry never makes the colour milder."""
    facts, rule_set, now = case
    entry = data.draw(official_facts(facts.declaration))
    after = replace(facts, official_lists=(*facts.official_lists, entry))
    assert _severity(after, rule_set, now) >= _severity(facts, rule_set, now)


@PROPERTY_SETTINGS
@given(authority_cases(), st.data())
def test_it_never_gets_milder_with_a_manual_colour(case: Any, data: st.DataObject) -> None:
    """Adding a confirmed manual colour never makes the colour milder, and the colour is at
    least the manual one unless an approval was decided after it."""
    facts, rule_set, now = case
    fact = data.draw(manual_facts(facts.declaration))
    after = replace(facts, manual=(*facts.manual, fact))
    assert _severity(after, rule_set, now) >= _severity(facts, rule_set, now)
    if not any(r.decided_at > fact.decided_at for r in facts.reviews):
        assert _severity(after, rule_set, now) >= severity(fact.color)


@PROPERTY_SETTINGS
@given(authority_cases(), st.integers(0, 60 * 24 * 60))
def test_it_never_gets_more_severe_with_time_alone_with_lists(case: Any, later: int) -> None:
    """With lists and manual colours too, a later time never gives a more severe colour, and
    next_change_at is exactly the next change."""
    facts, rule_set, now = case
    assert _severity(facts, rule_set, now + timedelta(minutes=later)) <= _severity(
        facts, rule_set, now
    )
    decision = decide(facts, rule_set, now)
    change = decision.next_change_at
    if change is None:
        assert decide(facts, rule_set, now + timedelta(days=500)).color == decision.color
    else:
        assert decide(facts, rule_set, change - timedelta(microseconds=1)).color == decision.color
        assert decide(facts, rule_set, change).color != decision.color


@PROPERTY_SETTINGS
@given(authority_cases(), st.data())
def test_it_never_leaves_a_listed_or_manual_code_stuck(case: Any, data: st.DataObject) -> None:
    """An approval after the last risk event (entries recorded, manual colours confirmed
    included) and clean daily check-ins for longer than every observation period turn the
    code green by itself; a risky check-in is only ever a delay."""
    facts, rule_set, _now = case
    extra = data.draw(st.lists(checkins_for(facts.declaration), max_size=3))
    facts = replace(facts, checkins=(*facts.checkins, *extra))
    decl = facts.declaration
    dates = [decl.declared_at.astimezone(TZ).date()]
    dates += [c.day for c in facts.checkins]
    dates += [d for d in (decl.arrival_date, decl.contact_date) if d is not None]
    dates += [e.listed_on for e in facts.official_lists]
    dates += [e.at.astimezone(TZ).date() for e in facts.official_lists]
    dates += [m.decided_at.astimezone(TZ).date() for m in facts.manual]
    first = max(dates) + timedelta(days=1)
    latest = max(
        [
            decl.declared_at,
            *(c.at for c in facts.checkins),
            *(r.decided_at for r in facts.reviews),
            *(e.at for e in facts.official_lists),
            *(m.decided_at for m in facts.manual),
        ]
    )
    longest = max(
        rule_set.return_region.observation_days,
        rule_set.contact.observation_days,
        rule_set.symptoms.observation_days,
        rule_set.official_list.observation_days,
    )
    done = replace(
        facts,
        checkins=(*facts.checkins, *clean(first, first + timedelta(days=longest))),
        reviews=(*facts.reviews, ReviewFact("approve", latest + timedelta(minutes=1))),
    )
    end = datetime.combine(first + timedelta(days=longest + 1), time(0), TZ)
    decision = decide(done, rule_set, end)
    assert decision.color == "green", decision
    assert decision.next_change_at is None
