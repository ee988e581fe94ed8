"""The colour rules engine (healthcode.codes.rules): the notice's table, reviews, observation
periods, daily check-ins and the validation of rule sets. Pure: no database needed."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from healthcode.codes import rules
from healthcode.codes.rules import (
    CheckInFact,
    Decision,
    Declaration,
    Facts,
    ReviewFact,
    RuleSet,
    RuleSetError,
    decide,
    load_rule_set,
)

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT = load_rule_set("default")


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2020, month, day, hour, minute, tzinfo=TZ)


def declaration(**overrides: Any) -> Declaration:
    values: dict[str, Any] = {
        "returned_from_elsewhere": False,
        "return_region": None,
        "arrival_date": None,
        "contact_with_case": False,
        "contact_date": None,
        "symptoms": frozenset(),
        "temperature": 36.5,
        "declared_at": at(2, 11),
    }
    values.update(overrides)
    return Declaration(**values)


def returned(region: str, arrival: date = date(2020, 2, 10), **overrides: Any) -> Declaration:
    return declaration(
        returned_from_elsewhere=True, return_region=region, arrival_date=arrival, **overrides
    )


def checkin(
    day: date,
    *,
    temperature: float = 36.5,
    symptoms: frozenset[str] = frozenset(),
    new_contact: bool = False,
    hour: int = 8,
) -> CheckInFact:
    return CheckInFact(
        day=day,
        temperature=temperature,
        symptoms=symptoms,
        in_nanning=True,
        new_contact=new_contact,
        at=datetime(day.year, day.month, day.day, hour, tzinfo=TZ),
    )


def daily(first: date, last: date, *, skip: tuple[date, ...] = ()) -> tuple[CheckInFact, ...]:
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return tuple(checkin(d) for d in days if d not in skip)


def approve(month: int, day: int, hour: int = 10) -> ReviewFact:
    return ReviewFact(outcome="approve", decided_at=at(month, day, hour), note="")


def refuse(month: int, day: int, hour: int = 10, note: str = "") -> ReviewFact:
    return ReviewFact(outcome="refuse", decided_at=at(month, day, hour), note=note)


def rules_of(decision: Decision) -> list[str]:
    return [reason.rule for reason in decision.reasons]


def steps_of(decision: Decision) -> dict[str, rules.Step]:
    return {step.rule: step for step in decision.path_to_green}


def assert_bilingual(decision: Decision, quoted: str = "") -> None:
    """Every reason and step has a Chinese text and an English one (which may quote a
    reviewer's note)."""
    for item in (*decision.reasons, *decision.path_to_green):
        assert item.text_zh and item.text_en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in item.text_zh)
        assert item.text_en.replace(quoted, "").isascii()


# --- The notice's table ---------------------------------------------------------------------


def test_it_gives_green_to_a_resident_who_never_left_nanning() -> None:
    """Never left Nanning during the epidemic: green, one bilingual reason, no path, and no
    change due by time."""
    decision = decide(Facts(declaration()), DEFAULT, at(2, 11, 10))

    assert decision.color == "green"
    assert rules_of(decision) == ["never_left"]
    reason = decision.reasons[0]
    assert "一直未离邕" in reason.text_zh
    assert "Has not left Nanning" in reason.text_en
    assert reason.facts == {"returned_from_elsewhere": False, "color": "green"}
    assert decision.path_to_green == ()
    assert decision.next_change_at is None
    assert_bilingual(decision)


def test_it_gives_green_on_return_from_inside_guangxi() -> None:
    """Back from Liuzhou (450200, Guangxi outside Nanning): green, the reason names the region,
    the arrival date and that it is inside Guangxi; nothing on the path to green."""
    decision = decide(Facts(returned("450200")), DEFAULT, at(2, 11, 10))

    assert decision.color == "green"
    assert rules_of(decision) == ["return_region"]
    reason = decision.reasons[0]
    assert "到邕时间 2020-02-10" in reason.text_zh
    assert "广西壮族自治区内" in reason.text_zh
    assert "inside Guangxi" in reason.text_en
    assert reason.facts["return_region"] == "450200"
    assert reason.facts["matched_region"] is None
    assert reason.facts["arrival_date"] == "2020-02-10"
    assert reason.facts["color"] == "green"
    assert decision.path_to_green == ()
    assert decision.next_change_at is None


def test_it_uses_the_declared_region_name_in_the_text() -> None:
    """A full region name supplied with the declaration appears in both texts."""
    decl = returned(
        "450200", return_region_name_zh="广西壮族自治区柳州市", return_region_name_en="Liuzhou"
    )
    reason = decide(Facts(decl), DEFAULT, at(2, 11, 10)).reasons[0]

    assert reason.text_zh.startswith("自广西壮族自治区柳州市返邕（到邕时间 2020-02-10")
    assert reason.text_en.startswith("Returned to Nanning from Liuzhou (arrived 2020-02-10")


@pytest.mark.parametrize("region", ["440300", "440000"])
def test_it_gives_yellow_on_return_from_outside_guangxi(region: str) -> None:
    """Back from Guangdong (Shenzhen 440300 or the province 440000): yellow, with a reason
    in both languages and a path to green: a review, the 14-day observation from the arrival
    date and daily check-ins from the declaration day."""
    decision = decide(Facts(returned(region)), DEFAULT, at(2, 11, 10))

    assert decision.color == "yellow"
    assert rules_of(decision) == ["return_region"]
    reason = decision.reasons[0]
    assert "广东省" in reason.text_zh and "广西壮族自治区以外" in reason.text_zh
    assert reason.text_zh.endswith("黄码")
    assert "Guangdong" in reason.text_en and reason.text_en.endswith("yellow code")
    assert reason.facts["color"] == "yellow" and reason.facts["status"] == "active"

    steps = steps_of(decision)
    assert list(steps) == [
        "review",
        "return_region.observation",
        "return_region.checkins",
        "automatic_green",
    ]
    assert steps["review"].done is False
    assert steps["return_region.observation"].from_date == date(2020, 2, 24)
    assert "2020-02-10 至 2020-02-23" in steps["return_region.observation"].text_zh
    assert steps["return_region.observation"].done is False
    assert steps["return_region.checkins"].from_date == date(2020, 2, 11)
    assert "共需 13 天，已完成 0 天" in steps["return_region.checkins"].text_zh
    assert "0 of 13 days" in steps["return_region.checkins"].text_en
    assert decision.next_change_at is None  # nothing changes until someone reviews
    assert_bilingual(decision)


@pytest.mark.parametrize("region", ["420100", "420000"])
def test_it_gives_red_on_return_from_hubei(region: str) -> None:
    """Back from Hubei (Wuhan 420100 or the province 420000): red, matched by the Hubei entry
    of the rule set, with a bilingual reason and path."""
    decision = decide(Facts(returned(region)), DEFAULT, at(2, 11, 10))

    assert decision.color == "red"
    reason = decision.reasons[0]
    assert reason.rule == "return_region"
    assert reason.text_zh.startswith("自湖北省")
    assert "到邕时间 2020-02-10" in reason.text_zh and reason.text_zh.endswith("红码")
    assert "Hubei Province" in reason.text_en and reason.text_en.endswith("red code")
    assert reason.facts["matched_region"] == "420000"
    assert {"review", "return_region.observation", "return_region.checkins"} <= set(
        steps_of(decision)
    )
    assert_bilingual(decision)


def test_it_names_the_province_exactly_for_a_province_code() -> None:
    """The notice's own example: 自湖北省返邕（到邕时间 2020-02-10）."""
    reason = decide(Facts(returned("420000")), DEFAULT, at(2, 11, 10)).reasons[0]
    assert reason.text_zh.startswith("自湖北省返邕（到邕时间 2020-02-10")


def test_it_gives_red_for_a_declared_contact_with_a_case() -> None:
    """A declared contact makes a resident who never left red; the path counts the 14 days
    from the contact date, and the never-left fact is still listed (green) after the risk."""
    decl = declaration(contact_with_case=True, contact_date=date(2020, 2, 9))
    decision = decide(Facts(decl), DEFAULT, at(2, 11, 10))

    assert decision.color == "red"
    assert rules_of(decision) == ["contact", "never_left"]
    contact = decision.reasons[0]
    assert "接触日期 2020-02-09" in contact.text_zh
    assert "confirmed, suspected or asymptomatic case" in contact.text_en
    assert contact.facts["contact_date"] == "2020-02-09"
    steps = steps_of(decision)
    assert steps["contact.observation"].from_date == date(2020, 2, 23)
    assert steps["contact.checkins"].from_date == date(2020, 2, 11)
    assert "共需 12 天" in steps["contact.checkins"].text_zh
    assert_bilingual(decision)


def test_it_takes_the_most_severe_colour_of_all_rules() -> None:
    """Back from Guangdong (yellow) with a contact (red): red, reasons most severe first."""
    decl = returned("440300", contact_with_case=True, contact_date=date(2020, 2, 8))
    decision = decide(Facts(decl), DEFAULT, at(2, 11, 10))

    assert decision.color == "red"
    assert rules_of(decision) == ["contact", "return_region"]
    assert [r.facts["color"] for r in decision.reasons] == ["red", "yellow"]


def test_it_gives_yellow_for_declared_fever_or_symptoms() -> None:
    """A declared temperature of at least 37.3 °C, or a symptom, is yellow; the reason gives
    the temperature and the symptoms."""
    fever = decide(Facts(declaration(temperature=37.3)), DEFAULT, at(2, 11, 10))
    cough = decide(Facts(declaration(symptoms=frozenset({"cough"}))), DEFAULT, at(2, 11, 10))
    normal = decide(Facts(declaration(temperature=37.2)), DEFAULT, at(2, 11, 10))

    assert fever.color == "yellow" and "体温 37.3°C" in fever.reasons[0].text_zh
    assert cough.color == "yellow" and "咳嗽" in cough.reasons[0].text_zh
    assert "cough" in cough.reasons[0].text_en
    assert cough.reasons[0].facts["symptoms"] == ["cough"]
    assert normal.color == "green"


# --- Check-ins ------------------------------------------------------------------------------


def test_it_turns_yellow_on_a_check_in_with_fever() -> None:
    """A green resident who checks in with 38.1 °C turns yellow until a review after it; the
    reason names the day and temperature."""
    facts = Facts(declaration(), checkins=(checkin(date(2020, 2, 12), temperature=38.1),))
    decision = decide(facts, DEFAULT, at(2, 12, 9))

    assert decision.color == "yellow"
    assert rules_of(decision) == ["checkin_symptoms", "never_left"]
    reason = decision.reasons[0]
    assert "2020-02-12" in reason.text_zh and "38.1°C" in reason.text_zh
    assert "38.1 °C" in reason.text_en
    assert reason.facts["days"] == ["2020-02-12"] and reason.facts["max_temperature"] == 38.1
    assert steps_of(decision)["review"].from_date == date(2020, 2, 12)
    assert decision.next_change_at is None

    # A review before the check-in does not count; one after it clears the symptom.
    early = replace(facts, reviews=(approve(2, 11, 12),))
    assert decide(early, DEFAULT, at(2, 12, 12)).color == "yellow"
    later = replace(facts, reviews=(approve(2, 12, 11),))
    cleared = decide(later, DEFAULT, at(2, 12, 12))
    assert cleared.color == "green"
    assert rules_of(cleared) == ["never_left"]
    assert cleared.path_to_green == ()


def test_it_turns_yellow_on_a_check_in_with_a_symptom_and_red_on_a_new_contact() -> None:
    """A symptom in a check-in is yellow; a new contact reported in a check-in is red, with a
    14-day observation from that day and check-ins from the next day."""
    cough = Facts(
        declaration(), checkins=(checkin(date(2020, 2, 12), symptoms=frozenset({"cough"})),)
    )
    assert decide(cough, DEFAULT, at(2, 12, 10)).color == "yellow"

    contact = Facts(declaration(), checkins=(checkin(date(2020, 2, 12), new_contact=True),))
    decision = decide(contact, DEFAULT, at(2, 12, 10))
    assert decision.color == "red"
    assert decision.reasons[0].rule == "checkin_contact"
    steps = steps_of(decision)
    assert steps["checkin_contact.observation"].from_date == date(2020, 2, 26)
    assert steps["checkin_contact.checkins"].from_date == date(2020, 2, 13)
    assert "共需 13 天" in steps["checkin_contact.checkins"].text_zh


def test_it_groups_check_in_risks_into_one_reason() -> None:
    """Several check-ins with symptoms give one reason listing their days and the highest
    temperature."""
    checkins = (
        checkin(date(2020, 2, 12), temperature=37.5),
        checkin(date(2020, 2, 13), temperature=38.2, symptoms=frozenset({"fatigue"})),
    )
    decision = decide(Facts(declaration(), checkins=checkins), DEFAULT, at(2, 13, 10))
    reason = decision.reasons[0]

    assert rules_of(decision) == ["checkin_symptoms", "never_left"]
    assert reason.facts["days"] == ["2020-02-12", "2020-02-13"]
    assert reason.facts["max_temperature"] == 38.2
    assert reason.facts["symptoms"] == ["fatigue"]


# --- Reviews, observation and automatic green -----------------------------------------------


HUBEI = returned("420100")  # arrived 2020-02-10, declared 2020-02-11 09:00


def test_it_turns_green_automatically_after_approval_observation_and_check_ins() -> None:
    """Hubei, approved on 02-12, checked in clean every day from the declaration day 02-11 to
    02-23: red until the observation ends, green from 2020-02-24 00:00 (Asia/Shanghai), which
    is next_change_at; then the reason says it was cleared and the path is empty."""
    facts = Facts(
        HUBEI, checkins=daily(date(2020, 2, 11), date(2020, 2, 23)), reviews=(approve(2, 12),)
    )

    before = decide(facts, DEFAULT, at(2, 23, 20))
    assert before.color == "red"
    assert before.next_change_at == datetime(2020, 2, 24, tzinfo=TZ)
    assert before.next_change_at.utcoffset() == timedelta(hours=8)
    steps = steps_of(before)
    assert steps["review"].done is True and steps["review"].from_date == date(2020, 2, 12)
    assert steps["return_region.observation"].done is False
    assert steps["return_region.checkins"].done is True
    assert "已完成 13 天" in steps["return_region.checkins"].text_zh
    assert steps["automatic_green"].from_date == date(2020, 2, 24)
    assert "2020-02-24 起自动转为绿码" in steps["automatic_green"].text_zh
    assert_bilingual(before)

    just_before = decide(facts, DEFAULT, datetime(2020, 2, 23, 23, 59, 59, tzinfo=TZ))
    assert just_before.color == "red"
    after = decide(facts, DEFAULT, datetime(2020, 2, 24, tzinfo=TZ))
    assert after.color == "green"
    assert after.path_to_green == ()
    assert after.next_change_at is None
    assert after.reasons[0].facts["status"] == "cleared"
    assert "已解除" in after.reasons[0].text_zh
    assert "cleared" in after.reasons[0].text_en
    assert after.to_json()["next_change_at"] is None
    assert before.to_json()["next_change_at"] == "2020-02-24T00:00:00+08:00"


def test_it_extends_the_check_in_requirement_by_missed_days() -> None:
    """A missed day (02-15) is made up by a later one: at the end of the observation the code
    stays red with no time-only change due, and the check-in of 02-24 turns it green."""
    checkins = daily(date(2020, 2, 11), date(2020, 2, 23), skip=(date(2020, 2, 15),))
    facts = Facts(HUBEI, checkins=checkins, reviews=(approve(2, 12),))

    stuck = decide(facts, DEFAULT, at(2, 24, 7))
    assert stuck.color == "red"
    assert stuck.next_change_at is None
    steps = steps_of(stuck)
    assert steps["return_region.observation"].done is True
    assert steps["return_region.checkins"].done is False
    assert "12 of 13 days" in steps["return_region.checkins"].text_en
    assert "漏打卡的天数顺延" in steps["return_region.checkins"].text_zh

    made_up = replace(facts, checkins=(*checkins, checkin(date(2020, 2, 24), hour=8)))
    assert decide(made_up, DEFAULT, at(2, 24, 8, 1)).color == "green"


def test_it_does_not_count_a_day_with_symptoms_as_checked_in() -> None:
    """After approval, a check-in with a cough needs a new review; once re-approved, that
    day does not count as a clean day, so one more day is needed after the period."""
    clean = daily(date(2020, 2, 11), date(2020, 2, 23), skip=(date(2020, 2, 15),))
    sick = checkin(date(2020, 2, 15), symptoms=frozenset({"cough"}), hour=8)
    facts = Facts(HUBEI, checkins=(*clean, sick), reviews=(approve(2, 12),))

    decision = decide(facts, DEFAULT, at(2, 15, 12))
    assert decision.color == "red"
    assert rules_of(decision) == ["return_region", "checkin_symptoms"]
    assert steps_of(decision)["review"].done is False

    reapproved = replace(facts, reviews=(approve(2, 12), approve(2, 16)))
    assert decide(reapproved, DEFAULT, at(2, 24, 12)).color == "red"
    more = replace(reapproved, checkins=(*facts.checkins, checkin(date(2020, 2, 24))))
    assert decide(more, DEFAULT, at(2, 24, 12)).color == "green"


def test_it_keeps_the_colour_after_a_refusal() -> None:
    """A refusal keeps the colour even after the observation and the check-ins, says so in a
    reason and in the path, and nothing changes by time; a later approval turns it green."""
    facts = Facts(
        HUBEI,
        checkins=daily(date(2020, 2, 11), date(2020, 2, 23)),
        reviews=(refuse(2, 12, note="材料不全"),),
    )
    decision = decide(facts, DEFAULT, at(2, 25))

    assert decision.color == "red"
    assert rules_of(decision) == ["return_region", "review"]
    refusal = decision.reasons[1]
    assert "审核未通过（2020-02-12：材料不全）" in refusal.text_zh
    assert "Review refused on 2020-02-12" in refusal.text_en
    assert refusal.facts["outcome"] == "refuse"
    review_step = steps_of(decision)["review"]
    assert review_step.done is False and "需重新审核" in review_step.text_zh
    assert decision.next_change_at is None
    assert_bilingual(decision, quoted="材料不全")

    approved = replace(facts, reviews=(refuse(2, 12), approve(2, 20)))
    assert decide(approved, DEFAULT, at(2, 25)).color == "green"
    refused_again = replace(facts, reviews=(approve(2, 12), refuse(2, 20)))
    assert decide(refused_again, DEFAULT, at(2, 25)).color == "red"
    same_time = replace(facts, reviews=(approve(2, 20), refuse(2, 20)))
    assert decide(same_time, DEFAULT, at(2, 25)).color == "red"


def test_it_ignores_reviews_before_the_declaration() -> None:
    """An approval decided before the (re-)declaration was about other facts: pending."""
    facts = Facts(
        HUBEI, checkins=daily(date(2020, 2, 11), date(2020, 2, 23)), reviews=(approve(2, 10),)
    )
    decision = decide(facts, DEFAULT, at(2, 25))
    assert decision.color == "red"
    assert "等待审核" in steps_of(decision)["review"].text_zh


def test_it_needs_no_check_ins_for_an_arrival_long_ago() -> None:
    """Arrived 2020-01-05 and declared 02-11: the observation is over before the first
    possible check-in, so an approval alone turns the code green."""
    decl = returned("440300", arrival=date(2020, 1, 5))
    pending = decide(Facts(decl), DEFAULT, at(2, 11, 10))
    assert pending.color == "yellow"
    assert "return_region.checkins" not in steps_of(pending)
    assert steps_of(pending)["return_region.observation"].done is True

    assert decide(Facts(decl, reviews=(approve(2, 11),)), DEFAULT, at(2, 11, 11)).color == "green"


def test_it_reports_the_next_colour_change_not_an_earlier_clearing() -> None:
    """Yellow (Guangdong, clears 02-24) and red (check-in contact on 02-20, clears 03-05), both
    approved: on 02-22 the colour stays red until 03-05, though the yellow risk clears first."""
    checkins = (
        *daily(date(2020, 2, 11), date(2020, 3, 4), skip=(date(2020, 2, 20),)),
        checkin(date(2020, 2, 20), new_contact=True),
    )
    facts = Facts(returned("440300"), checkins=checkins, reviews=(approve(2, 21),))
    decision = decide(facts, DEFAULT, at(2, 22))

    assert decision.color == "red"
    assert decision.next_change_at == datetime(2020, 3, 5, tzinfo=TZ)
    assert decision.next_update_at == datetime(2020, 2, 24, tzinfo=TZ)
    assert decide(facts, DEFAULT, datetime(2020, 3, 5, tzinfo=TZ)).color == "green"


def test_it_reports_when_a_pending_path_changes_by_time() -> None:
    """Pending review: the colour cannot change by time (next_change_at None), but the
    observation step is done from 02-24 (next_update_at)."""
    decision = decide(Facts(HUBEI), DEFAULT, at(2, 20))
    assert decision.next_change_at is None
    assert decision.next_update_at == datetime(2020, 2, 24, tzinfo=TZ)


def test_it_ignores_the_order_of_check_ins_and_reviews() -> None:
    """The same facts in another order give an equal decision."""
    checkins = daily(date(2020, 2, 11), date(2020, 2, 23))
    reviews = (refuse(2, 12), approve(2, 13))
    one = Facts(HUBEI, checkins=checkins, reviews=reviews)
    other = Facts(HUBEI, checkins=checkins[::-1], reviews=reviews[::-1])
    for now in (at(2, 20), at(2, 24), at(3, 1)):
        assert decide(one, DEFAULT, now) == decide(other, DEFAULT, now)


def test_it_serialises_a_decision_to_json() -> None:
    """to_json has exactly the documented keys and survives json.dumps."""
    decision = decide(Facts(HUBEI, reviews=(approve(2, 12),)), DEFAULT, at(2, 12, 11))
    data = decision.to_json()

    assert set(data) == {"color", "reasons", "path_to_green", "next_change_at"}
    assert set(data["reasons"][0]) == {"rule", "text_zh", "text_en", "facts"}
    assert set(data["path_to_green"][0]) == {"rule", "text_zh", "text_en", "from_date", "done"}
    assert data["path_to_green"][0]["from_date"] == "2020-02-12"
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_it_refuses_a_naive_now() -> None:
    """`now` must be timezone-aware."""
    with pytest.raises(ValueError):
        decide(Facts(declaration()), DEFAULT, datetime(2020, 2, 11, 9))


def test_it_uses_local_days_for_the_declaration() -> None:
    """Declared at 2020-02-10 17:00 UTC, which is 02-11 01:00 in Nanning: check-ins count from
    the local day 02-11."""
    decl = returned("440300", declared_at=datetime(2020, 2, 10, 17, tzinfo=ZoneInfo("UTC")))
    steps = steps_of(decide(Facts(decl), DEFAULT, at(2, 11, 10)))
    assert steps["return_region.checkins"].from_date == date(2020, 2, 11)


# --- Rule sets as data ----------------------------------------------------------------------


def default_data() -> dict[str, Any]:
    return copy.deepcopy(DEFAULT.to_dict())


def with_regions(*regions: dict[str, Any], **rule: Any) -> RuleSet:
    data = default_data()
    data["rules"]["return_region"]["regions"] = list(regions)
    data["rules"]["return_region"].update(rule)
    return load_rule_set(data)


def test_it_loads_the_packaged_default_rule_set() -> None:
    """The default rule set reproduces the notice: id, version, Asia/Shanghai, Guangxi home
    green, outside yellow, Hubei red, contact red, fever from 37.3 °C, 14 days, reviews for
    yellow and red; it round-trips through to_dict."""
    assert DEFAULT.id == "nanning-2020" and DEFAULT.version == 1
    assert DEFAULT.time_zone == "Asia/Shanghai"
    assert DEFAULT.home_province == "450000" and DEFAULT.home_city == "450100"
    assert DEFAULT.region_color("420100") == "red"
    assert DEFAULT.region_color("440300") == "yellow"
    assert DEFAULT.region_color("450200") == "green"
    assert DEFAULT.contact.color == "red"
    assert DEFAULT.symptoms.fever_threshold == 37.3
    assert DEFAULT.return_region.observation_days == DEFAULT.contact.observation_days == 14
    assert DEFAULT.review_colors == frozenset({"yellow", "red"})
    assert load_rule_set(DEFAULT.to_dict()) == DEFAULT
    assert load_rule_set("default") is DEFAULT  # read once per process
    path = Path(rules.__file__).parent / "rulesets" / "default.json"
    assert load_rule_set(path) == DEFAULT
    assert load_rule_set(str(path)) == DEFAULT


def test_it_matches_the_most_specific_region_entry() -> None:
    """A county entry beats a city entry, which beats a province entry; codes outside any
    entry fall back to the home province's or the outside colour."""
    rule_set = with_regions(
        {"code": "420000", "color": "red"},
        {"code": "420100", "color": "yellow"},
        {"code": "420102", "color": "green"},
        {"code": "450300", "color": "yellow", "name_zh": "桂林市", "name_en": "Guilin"},
    )
    assert rule_set.region_color("420102") == "green"
    assert rule_set.region_color("420106") == "yellow"
    assert rule_set.region_color("420100") == "yellow"
    assert rule_set.region_color("420500") == "red"
    assert rule_set.region_color("450300") == "yellow"
    assert rule_set.region_color("450200") == "green"
    assert rule_set.region_color("110000") == "yellow"

    decision = decide(Facts(returned("450300")), rule_set, at(2, 11, 10))
    assert decision.color == "yellow"
    assert decision.reasons[0].text_zh.startswith("自桂林市返邕")


def test_it_applies_the_configured_colours_thresholds_and_symptoms() -> None:
    """Rule sets change the outcome: outside colour red, contact yellow, a 38.0 °C threshold
    and a list of symptoms without "other"."""
    data = default_data()
    data["rules"]["return_region"]["outside_home_province_color"] = "red"
    data["rules"]["contact"]["color"] = "yellow"
    data["rules"]["symptoms"]["fever_threshold"] = 38.0
    data["rules"]["symptoms"]["symptoms"] = ["fever", "cough"]
    rule_set = load_rule_set(data)

    assert decide(Facts(returned("110000")), rule_set, at(2, 11, 10)).color == "red"
    contact = declaration(contact_with_case=True, contact_date=date(2020, 2, 9))
    assert decide(Facts(contact), rule_set, at(2, 11, 10)).color == "yellow"
    assert decide(Facts(declaration(temperature=37.8)), rule_set, at(2, 11, 10)).color == "green"
    other = declaration(symptoms=frozenset({"other"}))
    assert decide(Facts(other), rule_set, at(2, 11, 10)).color == "green"


def test_it_clears_colours_without_review_when_the_rule_set_says_so() -> None:
    """With only red needing a review, a yellow code turns green after its observation and
    check-ins without anyone acting."""
    data = default_data()
    data["review_colors"] = ["red"]
    rule_set = load_rule_set(data)
    facts = Facts(returned("440300"), checkins=daily(date(2020, 2, 11), date(2020, 2, 23)))

    decision = decide(facts, rule_set, at(2, 20))
    assert decision.color == "yellow"
    assert "review" not in steps_of(decision)
    assert decision.next_change_at == datetime(2020, 2, 24, tzinfo=TZ)
    assert decide(facts, rule_set, at(2, 24, 0)).color == "green"


def test_it_can_drop_the_daily_check_in_requirement() -> None:
    """With checkins.daily_required false, an approved code turns green at the end of the
    observation period whatever the check-ins."""
    data = default_data()
    data["rules"]["checkins"]["daily_required"] = False
    rule_set = load_rule_set(data)
    facts = Facts(HUBEI, reviews=(approve(2, 12),))

    decision = decide(facts, rule_set, at(2, 12, 11))
    assert "return_region.checkins" not in steps_of(decision)
    assert decision.next_change_at == datetime(2020, 2, 24, tzinfo=TZ)
    assert decide(facts, rule_set, at(2, 24, 0)).color == "green"


def test_it_reports_every_error_of_an_invalid_rule_set() -> None:
    """Unknown colours, bad region codes, negative days, missing fields, duplicate regions and
    unknown keys are all reported at once, each naming the rule and the field."""
    data = default_data()
    data["colour"] = "green"
    data["version"] = 0
    data["time_zone"] = "Asia/Nanning"
    data["review_colors"] = ["red", "purple", "red"]
    rr = data["rules"]["return_region"]
    rr["observation_days"] = -1
    rr["outside_home_province_color"] = "orange"
    rr["regions"] = [
        {"code": "420000", "color": "red"},
        {"code": "4200", "color": "red"},
        {"code": "420000", "color": "yellow"},
        {"code": "440300", "color": "blue", "level": "province", "extra": 1},
        {"color": "red"},
    ]
    del data["rules"]["contact"]["color"]
    data["rules"]["symptoms"]["fever_threshold"] = "37.3"
    data["rules"]["symptoms"]["symptoms"] = ["cough", "sneeze"]
    data["rules"]["quarantine"] = {}
    data["home"]["city"] = "440300"

    with pytest.raises(RuleSetError) as caught:
        load_rule_set(data)
    errors = caught.value.errors
    expected = [
        "rule_set.colour:",
        "rule_set.version:",
        "rule_set.time_zone:",
        "rule_set.review_colors[1]:",
        "rule_set.review_colors[2]:",
        "home.city:",
        "rules.quarantine:",
        "return_region.observation_days:",
        "return_region.outside_home_province_color:",
        "return_region.regions[1].code:",
        "return_region.regions[2].code:",
        "return_region.regions[3].color:",
        "return_region.regions[3].level:",
        "return_region.regions[3].extra:",
        "return_region.regions[4].code:",
        "contact.color:",
        "symptoms.fever_threshold:",
        "symptoms.symptoms[1]:",
    ]
    for prefix in expected:
        assert any(e.startswith(prefix) for e in errors), (prefix, errors)
    assert len(errors) == len(expected), errors
    assert any("duplicate region 420000" in e for e in errors)
    assert any("must not be negative" in e for e in errors)
    assert any("'purple'" in e for e in errors)
    assert "return_region.regions[1].code" in str(caught.value)


@pytest.mark.parametrize(
    ("mutate", "prefix"),
    [
        (lambda d: d.pop("id"), "rule_set.id: is missing"),
        (lambda d: d.update(id="Nanning 2020"), "rule_set.id:"),
        (lambda d: d.update(version=True), "rule_set.version:"),
        (lambda d: d.update(version="1"), "rule_set.version:"),
        (lambda d: d.update(published="21/02/2020"), "rule_set.published:"),
        (lambda d: d.update(review_colors=["yellow"]), "rule_set.review_colors: red must"),
        (lambda d: d.update(review_colors=["green", "red"]), "rule_set.review_colors[0]:"),
        (lambda d: d.update(review_colors="red"), "rule_set.review_colors: must be a list"),
        (lambda d: d.update(rules=[]), "rules: must be an object"),
        (lambda d: d["rules"].pop("symptoms"), "rules.symptoms: is missing"),
        (lambda d: d["rules"]["contact"].update(observation_days=1.5), "contact.observation_days:"),
        (lambda d: d["rules"]["contact"].update(observation_days=400), "contact.observation_days:"),
        (lambda d: d["rules"]["symptoms"].update(fever_threshold=50), "symptoms.fever_threshold:"),
        (lambda d: d["rules"]["symptoms"].update(symptoms="cough"), "symptoms.symptoms:"),
        (lambda d: d["rules"]["checkins"].update(daily_required="yes"), "checkins.daily_required:"),
        (lambda d: d["home"].update(province="990000"), "home.province:"),
        (lambda d: d["home"].update(name_en=" "), "home.name_en:"),
        (
            lambda d: d["rules"]["return_region"]["regions"].append(
                {"code": "420001", "color": "red"}
            ),
            "return_region.regions[1].code:",
        ),
        (
            lambda d: d["rules"]["return_region"]["regions"].append("420100"),
            "return_region.regions[1]: must be an object",
        ),
        (lambda d: d["rules"]["return_region"].update(regions={}), "return_region.regions:"),
    ],
)
def test_it_names_the_rule_and_field_of_each_error(mutate: Any, prefix: str) -> None:
    """Each kind of bad value is reported with "<rule>.<field>: ..."."""
    data = default_data()
    mutate(data)
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(data)
    assert any(e.startswith(prefix) for e in caught.value.errors), caught.value.errors


def test_it_reports_unreadable_and_malformed_files(tmp_path: Path) -> None:
    """A missing file, invalid JSON and a JSON array are RuleSetErrors; a valid TOML file
    loads."""
    with pytest.raises(RuleSetError, match="cannot read"):
        load_rule_set(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(RuleSetError, match="not valid"):
        load_rule_set(broken)
    array = tmp_path / "array.json"
    array.write_text("[]", encoding="utf-8")
    with pytest.raises(RuleSetError, match="rule_set: must be an object"):
        load_rule_set(array)

    good = tmp_path / "v2.json"
    data = default_data()
    data["version"] = 2
    good.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert load_rule_set(good).version == 2


def test_it_validates_a_rule_set_built_directly() -> None:
    """Constructing a RuleSet by hand is validated too."""
    with pytest.raises(RuleSetError, match="contact.color"):
        replace(DEFAULT, contact=rules.ContactRule(color="purple", observation_days=14))
    with pytest.raises(RuleSetError, match="review_colors"):
        replace(DEFAULT, review_colors=frozenset({"red", "purple"}))
    bad_symptoms = replace(DEFAULT.symptoms, symptoms=frozenset({"cough", "sneeze"}))
    with pytest.raises(RuleSetError, match="sneeze"):
        replace(DEFAULT, symptoms=bad_symptoms)


def test_it_is_a_pure_module_without_django() -> None:
    """Importing the engine in a fresh interpreter loads no Django module."""
    import subprocess
    import sys

    code = (
        "import sys, healthcode.codes.rules as r; r.load_rule_set('default'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(rules.__file__).parents[2],
    )
    assert out.stdout.strip() == "[]"
