"""What lets a batch skip work (codes.bulk), checked with hypothesis over generated facts,
times and rule sets: the decision for facts that raise no risk depends on the declaration
alone, so a batch may leave their clean check-ins unread and decide each distinct declaration
once; the memoising Decider always agrees with rules.decide."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from healthcode.codes import bulk
from healthcode.codes.rules import Facts, ReviewFact, decide
from healthcode.codes.tests.test_rules_properties import (
    START,
    checkins_for,
    declarations,
    facts_and_now,
    offsets,
    rule_sets,
)

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def quiet_facts(draw: st.DrawFn) -> Facts:
    """Facts that mostly raise no risk: a declaration, mostly clean check-ins, reviews."""
    decl = draw(declarations())
    checkins = draw(st.lists(checkins_for(decl, risky_share=40), max_size=30))
    reviews = draw(
        st.lists(
            st.builds(
                ReviewFact,
                outcome=st.sampled_from(["approve", "refuse"]),
                decided_at=offsets.map(lambda m: decl.declared_at + timedelta(minutes=m)),
                note=st.sampled_from(["", "材料不全"]),
            ),
            max_size=2,
        )
    )
    return Facts(decl, tuple(checkins), tuple(reviews))


@SETTINGS
@given(quiet_facts(), rule_sets, offsets, st.integers(0, 40 * 24 * 60), offsets)
def test_a_risk_free_decision_depends_on_the_declaration_alone(
    facts, rule_set, minutes, declared_minutes, other_minutes
):
    """Without a risk, neither clean check-ins, nor reviews, nor when the declaration was
    made, nor when the decision is made change the decision."""
    assume(bulk.risk_free(facts, rule_set))
    now = facts.declaration.declared_at + timedelta(minutes=minutes)
    declared_at = START + timedelta(minutes=declared_minutes)
    bare = Facts(replace(facts.declaration, declared_at=declared_at))
    later = declared_at + timedelta(minutes=other_minutes)
    assert decide(facts, rule_set, now) == decide(bare, rule_set, later)


@SETTINGS
@given(facts_and_now(), st.integers(0, 40 * 24 * 60))
def test_the_decider_agrees_with_the_rules_engine(case, declared_minutes):
    """Decider.decide (memoised for risk-free facts) equals rules.decide, for the facts and
    for the same declaration made at another time."""
    facts, rule_set, now = case
    decider = bulk.Decider(rule_set)
    assert decider.decide(facts, now) == decide(facts, rule_set, now)
    other = Facts(
        replace(facts.declaration, declared_at=START + timedelta(minutes=declared_minutes))
    )
    assert decider.decide(other, now) == decide(other, rule_set, now)
    decided, (reasons, path) = decider.decide_json(facts, now)
    data = decide(facts, rule_set, now).to_json()
    assert (decided.color, reasons, path) == (
        data["color"],
        data["reasons"],
        data["path_to_green"],
    )


@SETTINGS
@given(quiet_facts(), rule_sets)
def test_a_check_in_that_is_not_clean_is_a_risk(facts, rule_set):
    """risk_free is false as soon as one check-in is not clean (the loader then reads every
    check-in of the code)."""
    if any(not bulk.is_clean(c, rule_set) for c in facts.checkins):
        assert not bulk.risk_free(facts, rule_set)
        sym = rule_set.symptoms
        for c in facts.checkins:
            if not bulk.is_clean(c, rule_set):
                # What the loader's query selects (a superset).
                assert c.temperature >= sym.fever_threshold - 0.1 or c.new_contact or c.symptoms
