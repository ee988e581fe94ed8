"""Properties of the colour rules engine, checked with hypothesis over generated facts, times
and rule sets: determinism, monotonicity in risk facts, no worsening with time alone, an exact
next_change_at, and that no code is ever stuck."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcode.codes.rules import (
    COLORS,
    SYMPTOMS,
    CheckInFact,
    Declaration,
    Facts,
    ReviewFact,
    RuleSet,
    decide,
    load_rule_set,
    severity,
)

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
DEFAULT = load_rule_set("default")
START = datetime(2020, 2, 1, tzinfo=TZ)

# Codes inside and outside Guangxi and Hubei, at every level, plus malformed ones.
REGIONS = [
    "450100",
    "450103",
    "450200",
    "451000",
    "440000",
    "440300",
    "440305",
    "110000",
    "310000",
    "810000",
    "420000",
    "420100",
    "420106",
    "429004",
    "999999",
    "4403",
]

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _rule_set_variant(
    review: tuple[str, ...],
    days: tuple[int, int, int],
    daily: bool,
    colors: tuple[str, str, str],
    extra: tuple[tuple[str, str], ...],
) -> RuleSet:
    data: dict[str, Any] = copy.deepcopy(DEFAULT.to_dict())
    data["version"] = 2
    data["review_colors"] = list(review)
    rules = data["rules"]
    rules["return_region"]["observation_days"] = days[0]
    rules["contact"]["observation_days"] = days[1]
    rules["symptoms"]["observation_days"] = days[2]
    rules["checkins"]["daily_required"] = daily
    rules["return_region"]["outside_home_province_color"] = colors[0]
    rules["contact"]["color"] = colors[1]
    rules["symptoms"]["color"] = colors[2]
    rules["return_region"]["regions"] += [
        {"code": code, "color": color} for code, color in dict(extra).items() if code != "420000"
    ]
    return load_rule_set(data)


color_st = st.sampled_from(COLORS)
rule_sets = st.one_of(
    st.just(DEFAULT),
    st.builds(
        _rule_set_variant,
        review=st.sampled_from([(), ("red",), ("yellow", "red")]),
        days=st.tuples(*(st.integers(0, 21),) * 3),
        daily=st.booleans(),
        colors=st.tuples(color_st, color_st, color_st),
        extra=st.lists(
            st.tuples(
                st.sampled_from(["440300", "440305", "450200", "420106", "110000"]), color_st
            ),
            max_size=3,
        ).map(tuple),
    ),
)

offsets = st.integers(min_value=0, max_value=60 * 24 * 60)  # minutes within 60 days
days = st.integers(min_value=-30, max_value=45)
symptom_sets = st.frozensets(st.sampled_from([*SYMPTOMS, "sneezing"]), max_size=3)
temperatures = st.floats(min_value=35.5, max_value=40.5).map(lambda t: round(t, 1))


@st.composite
def declarations(draw: st.DrawFn) -> Declaration:
    declared_at = START + timedelta(minutes=draw(st.integers(0, 20 * 24 * 60)))
    if draw(st.booleans()):
        declared_at = declared_at.astimezone(UTC)
    base = declared_at.astimezone(TZ).date()
    returned = draw(st.booleans())
    contact = draw(st.booleans())
    return Declaration(
        returned_from_elsewhere=returned,
        return_region=draw(st.sampled_from(REGIONS)) if returned else None,
        arrival_date=(
            base + timedelta(days=draw(days)) if returned and draw(st.booleans()) else None
        ),
        contact_with_case=contact,
        contact_date=base + timedelta(days=draw(days)) if contact and draw(st.booleans()) else None,
        symptoms=draw(st.frozensets(st.sampled_from(SYMPTOMS), max_size=2))
        if draw(st.integers(0, 3)) == 0
        else frozenset(),
        temperature=draw(st.none() | temperatures.filter(lambda t: t < 38.0)),
        declared_at=declared_at,
    )


def _checkin(declared_at: datetime, day_offset: int, hour: int, **values: Any) -> CheckInFact:
    day = declared_at.astimezone(TZ).date() + timedelta(days=day_offset)
    return CheckInFact(
        day=day,
        at=datetime(day.year, day.month, day.day, hour, tzinfo=TZ),
        in_nanning=values.pop("in_nanning", True),
        **values,
    )


@st.composite
def checkins_for(draw: st.DrawFn, decl: Declaration, risky_share: int = 5) -> CheckInFact:
    risky = draw(st.integers(0, risky_share)) == 0
    return _checkin(
        decl.declared_at,
        draw(st.integers(0, 40)),
        draw(st.integers(0, 23)),
        temperature=draw(temperatures) if risky else draw(st.floats(35.8, 37.2)),
        symptoms=draw(symptom_sets) if risky else frozenset(),
        new_contact=risky and draw(st.booleans()),
        in_nanning=draw(st.booleans()),
    )


@st.composite
def facts_and_now(draw: st.DrawFn) -> tuple[Facts, RuleSet, datetime]:
    decl = draw(declarations())
    checkins = draw(st.lists(checkins_for(decl), max_size=25))
    reviews = draw(
        st.lists(
            st.builds(
                ReviewFact,
                outcome=st.sampled_from(["approve", "approve", "refuse"]),
                decided_at=st.integers(-24 * 60, 45 * 24 * 60).map(
                    lambda m: decl.declared_at + timedelta(minutes=m)
                ),
                note=st.sampled_from(["", "材料不全", "ok"]),
            ),
            max_size=3,
        )
    )
    now = decl.declared_at + timedelta(minutes=draw(offsets))
    return Facts(decl, tuple(checkins), tuple(reviews)), draw(rule_sets), now


def color(facts: Facts, rule_set: RuleSet, now: datetime) -> int:
    return severity(decide(facts, rule_set, now).color)


# --- Determinism and shape ------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(facts_and_now(), st.randoms(use_true_random=False))
def test_it_is_deterministic(case: tuple[Facts, RuleSet, datetime], random: Any) -> None:
    """The same facts and time give an equal decision, whatever the order of check-ins and
    reviews; the decision is well-formed JSON."""
    facts, rule_set, now = case
    decision = decide(facts, rule_set, now)
    assert decide(facts, rule_set, now) == decision
    checkins, reviews = list(facts.checkins), list(facts.reviews)
    random.shuffle(checkins)
    random.shuffle(reviews)
    shuffled = Facts(facts.declaration, tuple(checkins), tuple(reviews))
    assert decide(shuffled, rule_set, now) == decision
    assert decide(facts, rule_set, now.astimezone(UTC)) == decision

    data = decision.to_json()
    assert json.loads(json.dumps(data)) == data
    assert decision.color in COLORS
    assert (decision.path_to_green == ()) == (decision.color == "green")
    assert decision.reasons, "every decision says why"
    active = [r.facts["color"] for r in decision.reasons if r.facts.get("status") == "active"]
    worst = max((severity(c) for c in active), default=0)
    assert worst == severity(decision.color)


# --- Monotonicity in risk facts ------------------------------------------------------------


def _assert_not_milder(before: Facts, after: Facts, rule_set: RuleSet, now: datetime) -> None:
    assert color(after, rule_set, now) >= color(before, rule_set, now)


@PROPERTY_SETTINGS
@given(facts_and_now(), st.frozensets(st.sampled_from(SYMPTOMS), min_size=1, max_size=2))
def test_it_never_gets_milder_with_a_declared_symptom(case: Any, added: frozenset[str]) -> None:
    """Adding a declared symptom never makes the colour milder."""
    facts, rule_set, now = case
    decl = replace(facts.declaration, symptoms=facts.declaration.symptoms | added)
    _assert_not_milder(facts, replace(facts, declaration=decl), rule_set, now)


@PROPERTY_SETTINGS
@given(facts_and_now(), st.floats(37.3, 41.0))
def test_it_never_gets_milder_with_a_declared_fever(case: Any, fever: float) -> None:
    """Declaring a fever never makes the colour milder."""
    facts, rule_set, now = case
    decl = replace(facts.declaration, temperature=fever)
    _assert_not_milder(facts, replace(facts, declaration=decl), rule_set, now)


@PROPERTY_SETTINGS
@given(facts_and_now(), st.none() | days)
def test_it_never_gets_milder_with_a_declared_contact(case: Any, offset: int | None) -> None:
    """Declaring a contact with a case never makes the colour milder."""
    facts, rule_set, now = case
    if facts.declaration.contact_with_case:
        return
    base = facts.declaration.declared_at.astimezone(TZ).date()
    decl = replace(
        facts.declaration,
        contact_with_case=True,
        contact_date=None if offset is None else base + timedelta(days=offset),
    )
    _assert_not_milder(facts, replace(facts, declaration=decl), rule_set, now)


@PROPERTY_SETTINGS
@given(st.data())
def test_it_never_gets_milder_with_a_risky_check_in(data: st.DataObject) -> None:
    """Adding a check-in with fever, a symptom or a new contact never makes the colour milder."""
    facts, rule_set, now = data.draw(facts_and_now())
    risky = data.draw(checkins_for(facts.declaration, risky_share=0))
    if not (
        risky.new_contact
        or risky.temperature >= rule_set.symptoms.fever_threshold
        or risky.symptoms & rule_set.symptoms.symptoms
    ):
        risky = replace(risky, new_contact=True)
    after = replace(facts, checkins=(*facts.checkins, risky))
    _assert_not_milder(facts, after, rule_set, now)


@PROPERTY_SETTINGS
@given(facts_and_now(), st.sampled_from(REGIONS), st.sampled_from(REGIONS))
def test_it_never_gets_milder_with_a_more_severe_region(case: Any, first: str, second: str) -> None:
    """Returning from a region at least as severe (or returning at all, instead of never
    leaving) never makes the colour milder."""
    facts, rule_set, now = case
    mild, severe = sorted((first, second), key=lambda c: severity(rule_set.region_color(c)))
    base = replace(facts.declaration, returned_from_elsewhere=True, return_region=mild)
    worse = replace(base, return_region=severe)
    never_left = replace(facts.declaration, returned_from_elsewhere=False, return_region=None)
    _assert_not_milder(
        replace(facts, declaration=base), replace(facts, declaration=worse), rule_set, now
    )
    _assert_not_milder(
        replace(facts, declaration=never_left), replace(facts, declaration=base), rule_set, now
    )


@PROPERTY_SETTINGS
@given(facts_and_now(), st.data())
def test_it_never_gets_milder_without_an_approval(case: Any, data: st.DataObject) -> None:
    """Removing an approval, or adding a refusal, never makes the colour milder."""
    facts, rule_set, now = case
    approvals = [i for i, r in enumerate(facts.reviews) if r.outcome == "approve"]
    if approvals:
        drop = data.draw(st.sampled_from(approvals))
        fewer = replace(facts, reviews=tuple(r for i, r in enumerate(facts.reviews) if i != drop))
        _assert_not_milder(facts, fewer, rule_set, now)
    minutes = data.draw(st.integers(-24 * 60, 45 * 24 * 60))
    refusal = ReviewFact("refuse", facts.declaration.declared_at + timedelta(minutes=minutes))
    _assert_not_milder(facts, replace(facts, reviews=(*facts.reviews, refusal)), rule_set, now)


# --- Time -----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(facts_and_now(), offsets)
def test_it_never_gets_more_severe_with_time_alone(case: Any, later: int) -> None:
    """With the same facts, a later time never gives a more severe colour."""
    facts, rule_set, now = case
    assert color(facts, rule_set, now + timedelta(minutes=later)) <= color(facts, rule_set, now)


@PROPERTY_SETTINGS
@given(facts_and_now())
def test_it_reports_exactly_when_the_colour_next_changes(case: Any) -> None:
    """next_change_at is the first instant after now with another colour: just before it the
    colour is unchanged, at it the colour differs; without it the colour stays for good.
    next_update_at is never later than next_change_at."""
    facts, rule_set, now = case
    decision = decide(facts, rule_set, now)
    change = decision.next_change_at
    if change is None:
        assert decide(facts, rule_set, now + timedelta(days=500)).color == decision.color
    else:
        assert change > now
        assert decide(facts, rule_set, change - timedelta(microseconds=1)).color == decision.color
        assert decide(facts, rule_set, change).color != decision.color
        assert change.astimezone(TZ).time().isoformat() == "00:00:00"  # local midnight
        assert decision.next_update_at is not None and decision.next_update_at <= change
    if decision.next_update_at is not None:
        assert decision.next_update_at > now


# --- Never stuck ----------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(facts_and_now())
def test_it_never_leaves_a_code_stuck(case: Any) -> None:
    """Whatever the facts, an approval after the last risk event followed by clean daily
    check-ins for longer than the observation periods turns the code green by itself."""
    facts, rule_set, _now = case
    decl = facts.declaration
    dates = [decl.declared_at.astimezone(TZ).date()]
    dates += [c.day for c in facts.checkins]
    dates += [d for d in (decl.arrival_date, decl.contact_date) if d is not None]
    first = max(dates) + timedelta(days=1)
    latest = max(
        [decl.declared_at, *(c.at for c in facts.checkins), *(r.decided_at for r in facts.reviews)]
    )
    longest = max(
        rule_set.return_region.observation_days,
        rule_set.contact.observation_days,
        rule_set.symptoms.observation_days,
    )
    clean = tuple(
        CheckInFact(
            day=first + timedelta(days=i),
            temperature=36.5,
            symptoms=frozenset(),
            in_nanning=True,
            new_contact=False,
            at=datetime.combine(first + timedelta(days=i), time(8), TZ),
        )
        for i in range(longest + 1)
    )
    approval = ReviewFact("approve", latest + timedelta(minutes=1))
    done = Facts(decl, (*facts.checkins, *clean), (*facts.reviews, approval))
    end = datetime.combine(first + timedelta(days=longest + 1), time(0), TZ)
    decision = decide(done, rule_set, end)
    assert decision.color == "green", decision
    assert decision.path_to_green == ()
    assert decision.next_change_at is None
