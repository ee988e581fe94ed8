"""The colour rules engine: facts in, decision out.

Pure Python, no Django: `decide(facts, rule_set, now)` turns what a resident declared, their
daily check-ins and the reviews of their code into a colour with its reasons (in Chinese and
English, naming the facts used), the path to green and the instant the colour can next change
by time alone. Rule sets are versioned data (`rulesets/*.json`) loaded and validated by
`load_rule_set` into frozen objects with precomputed lookups, so `decide` parses nothing.

How a colour is derived (the notice's table, SPEC §2):

- Each risk fact is a *trigger* with a colour, a start date and an observation period:
  the return region (by the most specific region entry of the rule set, else the home
  province's or the outside colour), a contact with a case (declared, or `new_contact` in a
  check-in) and fever or symptoms (declared, or in a check-in). Green triggers are not risks.
- The colour is the most severe colour of the triggers that are not yet cleared; green if none.
- A trigger whose colour needs a review clears only after an "approve" review decided after the
  latest risk event (declared_at of the declaration, `at` of a check-in); a later "refuse"
  keeps the colour. Once approved (or when no review is needed) it clears by itself when
  (a) its observation period has ended (start date + observation days, at local midnight) and
  (b) the resident has made the required daily check-ins without fever, symptoms or new
      contact: one for every day of the observation period from the first day they could check
      in (the declaration day, or the day after a check-in that raised the risk). Days may be
      missed: every clean check-in day on or after that first day counts, so a missed day is
      made up by a day after the period. A code therefore can never be stuck: after approval,
      N more clean daily check-ins always turn it green.
- Being on an official list (确诊、疑似、无症状感染者、密切接触者, imported from the health
  commission) is a trigger like a contact: its colour (red by default) from the day listed, an
  observation period, review-gated when its colour needs a review, the entry's recording time
  being the risk event.
- A manual colour (人工赋码: a reason from the rule set's closed list, confirmed by a second
  official) is a trigger of its colour that always needs an approving review decided after it,
  with no observation period of its own; its confirmation time is a risk event.
- Time alone only ever clears triggers, so the colour never gets more severe with time.
"""

from __future__ import annotations

import json
import re
import tomllib
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

GREEN = "green"
YELLOW = "yellow"
RED = "red"
COLORS = (GREEN, YELLOW, RED)
SEVERITY = {GREEN: 0, YELLOW: 1, RED: 2}

APPROVE = "approve"
REFUSE = "refuse"

SYMPTOMS = ("fever", "cough", "fatigue", "sore_throat", "short_breath", "diarrhea", "other")

# Rule ids, as they appear in reasons (and, with a suffix, in path steps).
RULE_NEVER_LEFT = "never_left"
RULE_RETURN_REGION = "return_region"
RULE_CONTACT = "contact"
RULE_SYMPTOMS = "symptoms"
RULE_CHECKIN_CONTACT = "checkin_contact"
RULE_CHECKIN_SYMPTOMS = "checkin_symptoms"
RULE_OFFICIAL_LIST = "official_list"
RULE_MANUAL = "manual"
RULE_REVIEW = "review"
STEP_AUTOMATIC_GREEN = "automatic_green"

OFFICIAL_LIST_KINDS = ("confirmed", "suspected", "asymptomatic", "close_contact")
MANUAL_COLORS = (YELLOW, RED)
# The published rules a manual reason may be tied to.
MANUAL_REASON_RULES = (RULE_RETURN_REGION, RULE_CONTACT, RULE_SYMPTOMS, RULE_OFFICIAL_LIST)

RULESETS_DIR = Path(__file__).resolve().parent / "rulesets"


def severity(color: str) -> int:
    """0 for green, 1 for yellow, 2 for red."""
    return SEVERITY[color]


# --- Facts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """What the resident declared (申领), with the attestation time."""

    returned_from_elsewhere: bool
    return_region: str | None  # 6-digit GB/T 2260 code: 420000 Hubei, 440300 Shenzhen
    arrival_date: date | None  # arrival in Nanning
    contact_with_case: bool
    contact_date: date | None
    symptoms: frozenset[str]  # fever, cough, fatigue, sore_throat, short_breath, diarrhea, other
    temperature: float | None
    declared_at: datetime  # timezone-aware
    # Optional full names of the return region for the reason text (e.g. "广东省深圳市");
    # without them the text names the province and the code.
    return_region_name_zh: str | None = None
    return_region_name_en: str | None = None


@dataclass(frozen=True)
class CheckInFact:
    """One daily health check-in (健康打卡)."""

    day: date
    temperature: float
    symptoms: frozenset[str]
    in_nanning: bool
    new_contact: bool
    at: datetime


@dataclass(frozen=True)
class ReviewFact:
    """One review (审核) decision on the code."""

    outcome: str  # "approve" | "refuse"
    decided_at: datetime
    note: str = ""


@dataclass(frozen=True)
class OfficialListFact:
    """An entry of an official list from the health commission naming this person."""

    kind: str  # "confirmed" | "suspected" | "asymptomatic" | "close_contact"
    listed_on: date
    at: datetime  # when the entry was recorded (aware)


@dataclass(frozen=True)
class ManualFact:
    """A colour set by hand (人工赋码), confirmed by a second official (four eyes)."""

    color: str  # "yellow" | "red"
    reason_code: str  # from the rule set's closed list
    decided_at: datetime  # when the second approver confirmed it


@dataclass(frozen=True)
class Facts:
    declaration: Declaration
    checkins: tuple[CheckInFact, ...] = ()
    reviews: tuple[ReviewFact, ...] = ()
    official_lists: tuple[OfficialListFact, ...] = ()
    manual: tuple[ManualFact, ...] = ()


# --- Decision -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    rule: str
    text_zh: str
    text_en: str
    facts: Mapping[str, Any]  # JSON-able; dates as ISO strings

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "facts": dict(self.facts),
        }


@dataclass(frozen=True)
class Step:
    rule: str
    text_zh: str
    text_en: str
    from_date: date | None
    done: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "from_date": _iso(self.from_date),
            "done": self.done,
        }


@dataclass(frozen=True)
class Decision:
    color: str  # "green" | "yellow" | "red"
    reasons: tuple[Reason, ...]
    path_to_green: tuple[Step, ...]  # empty when green
    next_change_at: datetime | None  # when the colour can next change by time alone, else None
    # When anything in the decision (a reason's status, a step's `done`) next changes by time
    # alone; never later than next_change_at. A sweep that wants fresh paths can use it.
    next_update_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "color": self.color,
            "reasons": [reason.to_json() for reason in self.reasons],
            "path_to_green": [step.to_json() for step in self.path_to_green],
            "next_change_at": _iso(self.next_change_at),
        }


# --- Rule sets ------------------------------------------------------------------------------


class RuleSetError(ValueError):
    """A rule set that cannot be used; `errors` lists every problem, each as
    "<rule>.<field>: <message>"."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid rule set:\n" + "\n".join(f"- {e}" for e in self.errors))


@dataclass(frozen=True)
class RegionEntry:
    """A region named by the rule set. A province code (420000) covers every code starting
    with 42, a city code (440300) every code starting with 4403, a county code itself."""

    code: str
    color: str
    name_zh: str = ""
    name_en: str = ""
    note: str = ""

    @property
    def level(self) -> str:
        return _region_level(self.code) or ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "level": self.level, "color": self.color}
        for key in ("name_zh", "name_en", "note"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class ReturnRegionRule:
    observation_days: int
    home_province_color: str
    outside_home_province_color: str
    regions: tuple[RegionEntry, ...] = ()


@dataclass(frozen=True)
class ContactRule:
    color: str
    observation_days: int


@dataclass(frozen=True)
class SymptomRule:
    color: str
    observation_days: int
    fever_threshold: float
    symptoms: frozenset[str]


@dataclass(frozen=True)
class OfficialListRule:
    color: str
    observation_days: int


@dataclass(frozen=True)
class ManualReason:
    """One reason of the closed list for turning a code yellow or red by hand, tied to the
    published rule it applies."""

    code: str
    text_zh: str
    text_en: str
    colors: tuple[str, ...]  # the colours it may justify, in COLORS order
    rule: str  # one of MANUAL_REASON_RULES

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "colors": list(self.colors),
            "rule": self.rule,
        }


DEFAULT_OFFICIAL_LIST_RULE = OfficialListRule(color=RED, observation_days=14)


@dataclass(frozen=True)
class RuleSet:
    """A validated, immutable rule set. Build it with `load_rule_set`; constructing it
    directly validates too."""

    id: str
    version: int
    time_zone: str
    home_province: str
    home_city: str
    home_name_zh: str
    home_short_name_zh: str
    home_name_en: str
    review_colors: frozenset[str]
    return_region: ReturnRegionRule
    contact: ContactRule
    symptoms: SymptomRule
    daily_checkins: bool = True
    name_zh: str = ""
    name_en: str = ""
    source: str = ""
    published: date | None = None
    official_list: OfficialListRule = DEFAULT_OFFICIAL_LIST_RULE
    manual_reasons: tuple[ManualReason, ...] = ()
    # Precomputed for `decide`.
    tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _regions: dict[str, RegionEntry] = field(init=False, repr=False, compare=False)
    _manual: dict[str, ManualReason] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        errors = _validate(self.to_dict())
        if errors:
            raise RuleSetError(errors)
        object.__setattr__(self, "tz", ZoneInfo(self.time_zone))
        object.__setattr__(self, "_regions", {e.code: e for e in self.return_region.regions})
        object.__setattr__(self, "_manual", {r.code: r for r in self.manual_reasons})

    def manual_reason(self, code: str) -> ManualReason | None:
        """The closed list's reason with this code, or None."""
        return self._manual.get(code)

    def match_region(self, code: str | None) -> RegionEntry | None:
        """The most specific region entry covering `code` (county, then city, then
        province), or None."""
        if not code or len(code) != 6:
            return None
        regions = self._regions
        return regions.get(code) or regions.get(code[:4] + "00") or regions.get(code[:2] + "0000")

    def region_color(self, code: str | None) -> str:
        """The colour of returning from `code`: its most specific entry, else the home
        province's colour inside the home province, else the outside colour."""
        return self._region_color(code, self.match_region(code))

    def _region_color(self, code: str | None, entry: RegionEntry | None) -> str:
        if entry is not None:
            return entry.color
        if code and code[:2] == self.home_province[:2]:
            return self.return_region.home_province_color
        return self.return_region.outside_home_province_color

    def to_dict(self) -> dict[str, Any]:
        """The rule set as data, in the format `load_rule_set` reads."""
        data: dict[str, Any] = {"id": self.id, "version": self.version}
        for key in ("name_zh", "name_en", "source"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.published is not None:
            data["published"] = self.published.isoformat()
        rr = self.return_region
        data.update(
            {
                "time_zone": self.time_zone,
                "home": {
                    "province": self.home_province,
                    "city": self.home_city,
                    "name_zh": self.home_name_zh,
                    "short_name_zh": self.home_short_name_zh,
                    "name_en": self.home_name_en,
                },
                "review_colors": sorted(self.review_colors, key=_order(COLORS)),
                "rules": {
                    RULE_RETURN_REGION: {
                        "observation_days": rr.observation_days,
                        "home_province_color": rr.home_province_color,
                        "outside_home_province_color": rr.outside_home_province_color,
                        "regions": [entry.to_dict() for entry in rr.regions],
                    },
                    RULE_CONTACT: {
                        "color": self.contact.color,
                        "observation_days": self.contact.observation_days,
                    },
                    RULE_SYMPTOMS: {
                        "color": self.symptoms.color,
                        "observation_days": self.symptoms.observation_days,
                        "fever_threshold": self.symptoms.fever_threshold,
                        "symptoms": sorted(self.symptoms.symptoms, key=_order(SYMPTOMS)),
                    },
                    RULE_OFFICIAL_LIST: {
                        "color": self.official_list.color,
                        "observation_days": self.official_list.observation_days,
                    },
                    "checkins": {"daily_required": self.daily_checkins},
                },
                "manual_reasons": [reason.to_dict() for reason in self.manual_reasons],
            }
        )
        return data


def load_rule_set(source: str | Path | Mapping[str, Any] | RuleSet) -> RuleSet:
    """Load and validate a rule set.

    `source` is "default" (or the name of another file in `rulesets/`, without ".json"), a path
    to a JSON or TOML file, or already-parsed data. Raises RuleSetError listing every problem.
    Packaged rule sets are read once per process.
    """
    if isinstance(source, RuleSet):
        return source
    if isinstance(source, Mapping):
        return _build(source)
    if isinstance(source, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", source):
        packaged = RULESETS_DIR / f"{source}.json"
        if not source.endswith((".json", ".toml")) and packaged.is_file():
            return _load_packaged(source)
    return _build(_read(Path(source)))


@lru_cache(maxsize=16)
def _load_packaged(name: str) -> RuleSet:
    return _build(_read(RULESETS_DIR / f"{name}.json"))


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSetError([f"rule_set.source: cannot read {path}: {exc.strerror}"]) from exc
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        return json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise RuleSetError([f"rule_set.source: {path} is not valid: {exc}"]) from exc


def _build(data: Any) -> RuleSet:
    errors = _validate(data)
    if errors:
        raise RuleSetError(errors)
    home = data["home"]
    rules = data["rules"]
    rr = rules[RULE_RETURN_REGION]
    sy = rules[RULE_SYMPTOMS]
    return RuleSet(
        id=data["id"],
        version=data["version"],
        name_zh=data.get("name_zh", ""),
        name_en=data.get("name_en", ""),
        source=data.get("source", ""),
        published=date.fromisoformat(data["published"]) if data.get("published") else None,
        time_zone=data["time_zone"],
        home_province=home["province"],
        home_city=home["city"],
        home_name_zh=home["name_zh"],
        home_short_name_zh=home["short_name_zh"],
        home_name_en=home["name_en"],
        review_colors=frozenset(data["review_colors"]),
        return_region=ReturnRegionRule(
            observation_days=rr["observation_days"],
            home_province_color=rr["home_province_color"],
            outside_home_province_color=rr["outside_home_province_color"],
            regions=tuple(
                RegionEntry(
                    code=entry["code"],
                    color=entry["color"],
                    name_zh=entry.get("name_zh", ""),
                    name_en=entry.get("name_en", ""),
                    note=entry.get("note", ""),
                )
                for entry in rr["regions"]
            ),
        ),
        contact=ContactRule(
            color=rules[RULE_CONTACT]["color"],
            observation_days=rules[RULE_CONTACT]["observation_days"],
        ),
        symptoms=SymptomRule(
            color=sy["color"],
            observation_days=sy["observation_days"],
            fever_threshold=float(sy["fever_threshold"]),
            symptoms=frozenset(sy["symptoms"]),
        ),
        daily_checkins=rules.get("checkins", {}).get("daily_required", True),
        official_list=(
            OfficialListRule(
                color=rules[RULE_OFFICIAL_LIST]["color"],
                observation_days=rules[RULE_OFFICIAL_LIST]["observation_days"],
            )
            if RULE_OFFICIAL_LIST in rules
            else DEFAULT_OFFICIAL_LIST_RULE
        ),
        manual_reasons=tuple(
            ManualReason(
                code=item["code"],
                text_zh=item["text_zh"],
                text_en=item["text_en"],
                colors=tuple(sorted(item["colors"], key=_order(COLORS))),
                rule=item["rule"],
            )
            for item in data.get("manual_reasons", [])
        ),
    )


# --- Validation -----------------------------------------------------------------------------

# GB/T 2260 province-level prefixes (incl. Taiwan 71, Hong Kong 81, Macao 82).
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82".split()
)
MAX_OBSERVATION_DAYS = 366
_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _region_level(code: Any) -> str | None:
    """The level ("province", "city" or "county") of a well-formed GB/T 2260 code, else None."""
    if not isinstance(code, str) or len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    if code[:2] not in PROVINCE_PREFIXES:
        return None
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    if code[2:4] == "00":
        return None  # a county needs a city (or a 90 "directly administered" group)
    return "county"


_SKIP: Any = object()  # stands for a part already reported missing


class _Checker:
    """Collects errors as "<rule>.<field>: <message>"."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def mapping(
        self,
        data: Any,
        where: str,
        required: Iterable[str],
        optional: Iterable[str] = (),
    ) -> dict[str, Any] | None:
        if data is _SKIP:
            return None
        if not isinstance(data, Mapping):
            self.add(where, f"must be an object, not {_kind(data)}")
            return None
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in required:
            if key not in data:
                self.add(f"{where}.{key}", "is missing")
        for key in data:
            if key not in allowed:
                self.add(f"{where}.{key}", f"unknown field (expected one of {_list(allowed)})")
        return dict(data)

    def color(self, data: Mapping[str, Any], key: str, where: str) -> None:
        if key in data and data[key] not in COLORS:
            self.add(f"{where}.{key}", f"unknown colour {data[key]!r} (expected {_list(COLORS)})")

    def days(self, data: Mapping[str, Any], key: str, where: str) -> None:
        if key not in data:
            return
        value = data[key]
        if not _is_int(value):
            self.add(f"{where}.{key}", f"must be a whole number of days, not {_kind(value)}")
        elif value < 0:
            self.add(f"{where}.{key}", f"must not be negative (got {value})")
        elif value > MAX_OBSERVATION_DAYS:
            self.add(f"{where}.{key}", f"must be at most {MAX_OBSERVATION_DAYS} (got {value})")

    def text(self, data: Mapping[str, Any], key: str, where: str, *, blank: bool = True) -> None:
        if key not in data:
            return
        value = data[key]
        if not isinstance(value, str):
            self.add(f"{where}.{key}", f"must be a string, not {_kind(value)}")
        elif not blank and not value.strip():
            self.add(f"{where}.{key}", "must not be blank")


def _validate(data: Any) -> list[str]:
    """Every problem of a rule set's data, each naming the rule and the field."""
    check = _Checker()
    top = check.mapping(
        data,
        "rule_set",
        required=("id", "version", "time_zone", "home", "review_colors", "rules"),
        optional=("name_zh", "name_en", "source", "published", "manual_reasons"),
    )
    if top is None:
        return check.errors

    if "id" in top and (not isinstance(top["id"], str) or not _ID_RE.fullmatch(top["id"])):
        check.add(
            "rule_set.id",
            f"{top['id']!r} must be 1-64 lowercase letters, digits, '.', '_' or '-'",
        )
    if "version" in top and (not _is_int(top["version"]) or top["version"] < 1):
        check.add("rule_set.version", f"must be an integer of at least 1, not {top['version']!r}")
    for key in ("name_zh", "name_en", "source"):
        check.text(top, key, "rule_set")
    if "published" in top:
        try:
            date.fromisoformat(top["published"])
        except (TypeError, ValueError):
            check.add("rule_set.published", f"{top['published']!r} is not a date (YYYY-MM-DD)")
    if "time_zone" in top:
        if not isinstance(top["time_zone"], str) or not _valid_zone(top["time_zone"]):
            check.add("rule_set.time_zone", f"unknown time zone {top['time_zone']!r}")

    colors = top.get("review_colors")
    if colors is not None:
        if not isinstance(colors, list):
            check.add("rule_set.review_colors", f"must be a list, not {_kind(colors)}")
        else:
            for i, value in enumerate(colors):
                if value not in COLORS:
                    check.add(
                        f"rule_set.review_colors[{i}]",
                        f"unknown colour {value!r} (expected {_list(COLORS)})",
                    )
                elif value == GREEN:
                    check.add(f"rule_set.review_colors[{i}]", "green codes need no review")
                elif colors.index(value) != i:
                    check.add(f"rule_set.review_colors[{i}]", f"duplicate colour {value!r}")
            # A more severe colour must never be easier to clear than a milder one.
            if YELLOW in colors and RED not in colors:
                check.add("rule_set.review_colors", "red must need a review when yellow does")

    home = (
        check.mapping(
            top["home"],
            "home",
            required=("province", "city", "name_zh", "short_name_zh", "name_en"),
        )
        if "home" in top
        else None
    )
    if home is not None:
        province, city = home.get("province"), home.get("city")
        if "province" in home and _region_level(province) != "province":
            check.add(
                "home.province", f"{province!r} is not a GB/T 2260 province code (like 450000)"
            )
        if "city" in home:
            if _region_level(city) != "city":
                check.add("home.city", f"{city!r} is not a GB/T 2260 city code (like 450100)")
            elif isinstance(province, str) and city[:2] != province[:2]:
                check.add("home.city", f"{city!r} is not in the home province {province!r}")
        for key in ("name_zh", "short_name_zh", "name_en"):
            check.text(home, key, "home", blank=False)

    if "manual_reasons" in top:
        _validate_manual_reasons(check, top["manual_reasons"])

    if "rules" not in top:
        return check.errors
    rules = check.mapping(
        top["rules"],
        "rules",
        required=(RULE_RETURN_REGION, RULE_CONTACT, RULE_SYMPTOMS),
        optional=("checkins", RULE_OFFICIAL_LIST),
    )
    if rules is None:
        return check.errors
    # A missing rule is reported once, as "rules.<rule>: is missing".
    missing = _SKIP

    rr = check.mapping(
        rules.get(RULE_RETURN_REGION, missing),
        RULE_RETURN_REGION,
        required=(
            "observation_days",
            "home_province_color",
            "outside_home_province_color",
            "regions",
        ),
    )
    if rr is not None:
        check.days(rr, "observation_days", RULE_RETURN_REGION)
        check.color(rr, "home_province_color", RULE_RETURN_REGION)
        check.color(rr, "outside_home_province_color", RULE_RETURN_REGION)
        regions = rr.get("regions", [])
        if not isinstance(regions, list):
            check.add(f"{RULE_RETURN_REGION}.regions", f"must be a list, not {_kind(regions)}")
            regions = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(regions):
            where = f"{RULE_RETURN_REGION}.regions[{i}]"
            item = check.mapping(
                entry,
                where,
                required=("code", "color"),
                optional=("level", "name_zh", "name_en", "note"),
            )
            if item is None:
                continue
            code = item.get("code")
            level = _region_level(code)
            if "code" in item:
                if level is None:
                    check.add(f"{where}.code", f"{code!r} is not a 6-digit GB/T 2260 region code")
                elif code in seen:
                    check.add(
                        f"{where}.code",
                        f"duplicate region {code} (already regions[{seen[code]}])",
                    )
                else:
                    seen[code] = i
            if "level" in item and item["level"] != level:
                if item["level"] not in ("province", "city", "county"):
                    check.add(
                        f"{where}.level",
                        f"unknown level {item['level']!r} (expected province, city or county)",
                    )
                elif level is not None:
                    check.add(
                        f"{where}.level",
                        f"{code} is a {level} code, not a {item['level']} code",
                    )
            check.color(item, "color", where)
            for key in ("name_zh", "name_en", "note"):
                check.text(item, key, where)

    contact = check.mapping(
        rules.get(RULE_CONTACT, missing), RULE_CONTACT, required=("color", "observation_days")
    )
    if contact is not None:
        check.color(contact, "color", RULE_CONTACT)
        check.days(contact, "observation_days", RULE_CONTACT)

    symptoms = check.mapping(
        rules.get(RULE_SYMPTOMS, missing),
        RULE_SYMPTOMS,
        required=("color", "observation_days", "fever_threshold", "symptoms"),
    )
    if symptoms is not None:
        check.color(symptoms, "color", RULE_SYMPTOMS)
        check.days(symptoms, "observation_days", RULE_SYMPTOMS)
        if "fever_threshold" in symptoms:
            value = symptoms["fever_threshold"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                check.add(
                    f"{RULE_SYMPTOMS}.fever_threshold", f"must be a number, not {_kind(value)}"
                )
            elif not 35.0 <= value <= 42.0:
                check.add(
                    f"{RULE_SYMPTOMS}.fever_threshold",
                    f"must be a body temperature in °C between 35 and 42 (got {value})",
                )
        codes = symptoms.get("symptoms", [])
        if not isinstance(codes, list):
            check.add(f"{RULE_SYMPTOMS}.symptoms", f"must be a list, not {_kind(codes)}")
        else:
            for i, value in enumerate(codes):
                if value not in SYMPTOMS:
                    check.add(
                        f"{RULE_SYMPTOMS}.symptoms[{i}]",
                        f"unknown symptom {value!r} (expected {_list(SYMPTOMS)})",
                    )
                elif codes.index(value) != i:
                    check.add(f"{RULE_SYMPTOMS}.symptoms[{i}]", f"duplicate symptom {value!r}")

    if RULE_OFFICIAL_LIST in rules:
        official = check.mapping(
            rules[RULE_OFFICIAL_LIST], RULE_OFFICIAL_LIST, required=("color", "observation_days")
        )
        if official is not None:
            check.color(official, "color", RULE_OFFICIAL_LIST)
            check.days(official, "observation_days", RULE_OFFICIAL_LIST)

    if "checkins" in rules:
        checkins = check.mapping(rules["checkins"], "checkins", required=("daily_required",))
        if checkins is not None and "daily_required" in checkins:
            if not isinstance(checkins["daily_required"], bool):
                check.add(
                    "checkins.daily_required",
                    f"must be true or false, not {_kind(checkins['daily_required'])}",
                )
    return check.errors


_REASON_CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _validate_manual_reasons(check: _Checker, reasons: Any) -> None:
    """The closed list of reasons for a manual colour: each with a unique code, both texts,
    the colours it may justify (yellow and/or red) and the published rule it is tied to."""
    if not isinstance(reasons, list):
        check.add("manual_reasons", f"must be a list, not {_kind(reasons)}")
        return
    seen: dict[str, int] = {}
    for i, entry in enumerate(reasons):
        where = f"manual_reasons[{i}]"
        item = check.mapping(
            entry, where, required=("code", "text_zh", "text_en", "colors", "rule")
        )
        if item is None:
            continue
        code = item.get("code")
        if "code" in item:
            if not isinstance(code, str) or not _REASON_CODE_RE.fullmatch(code):
                check.add(
                    f"{where}.code",
                    f"{code!r} must be 1-32 lowercase letters, digits or '_', "
                    "starting with a letter",
                )
            elif code in seen:
                check.add(
                    f"{where}.code",
                    f"duplicate reason {code} (already manual_reasons[{seen[code]}])",
                )
            else:
                seen[code] = i
        check.text(item, "text_zh", where, blank=False)
        check.text(item, "text_en", where, blank=False)
        colors = item.get("colors", [])
        if not isinstance(colors, list):
            check.add(f"{where}.colors", f"must be a list, not {_kind(colors)}")
        elif "colors" in item and not colors:
            check.add(f"{where}.colors", "must name at least one colour (yellow or red)")
        else:
            for j, value in enumerate(colors):
                if value not in MANUAL_COLORS:
                    check.add(
                        f"{where}.colors[{j}]",
                        f"unknown colour {value!r} for a manual colour "
                        f"(expected {_list(MANUAL_COLORS)})",
                    )
                elif colors.index(value) != j:
                    check.add(f"{where}.colors[{j}]", f"duplicate colour {value!r}")
        if "rule" in item and item["rule"] not in MANUAL_REASON_RULES:
            check.add(
                f"{where}.rule",
                f"unknown rule {item['rule']!r} (expected {_list(MANUAL_REASON_RULES)})",
            )


def _order(known: tuple[str, ...]) -> Any:
    """A sort key: known values in their canonical order, then the others alphabetically."""
    return lambda value: (known.index(value) if value in known else len(known), str(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _list(values: Iterable[str]) -> str:
    return ", ".join(sorted(values) if isinstance(values, set) else values)


@lru_cache(maxsize=64)
def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, OSError, KeyError):
        return False
    return True


# --- Texts ----------------------------------------------------------------------------------
# Kept here rather than in gettext catalogues because the engine is pure and its reasons are
# stored with both languages side by side.

COLOR_ZH = {GREEN: "绿码", YELLOW: "黄码", RED: "红码"}
COLOR_EN = {GREEN: "green code", YELLOW: "yellow code", RED: "red code"}
SYMPTOM_ZH = {
    "fever": "发热",
    "cough": "咳嗽",
    "fatigue": "乏力",
    "sore_throat": "咽痛",
    "short_breath": "气促",
    "diarrhea": "腹泻",
    "other": "其他不适",
}
SYMPTOM_EN = {
    "fever": "fever",
    "cough": "cough",
    "fatigue": "fatigue",
    "sore_throat": "sore throat",
    "short_breath": "shortness of breath",
    "diarrhea": "diarrhoea",
    "other": "other discomfort",
}
PROVINCE_NAMES: dict[str, tuple[str, str]] = {
    "11": ("北京市", "Beijing"),
    "12": ("天津市", "Tianjin"),
    "13": ("河北省", "Hebei Province"),
    "14": ("山西省", "Shanxi Province"),
    "15": ("内蒙古自治区", "Inner Mongolia Autonomous Region"),
    "21": ("辽宁省", "Liaoning Province"),
    "22": ("吉林省", "Jilin Province"),
    "23": ("黑龙江省", "Heilongjiang Province"),
    "31": ("上海市", "Shanghai"),
    "32": ("江苏省", "Jiangsu Province"),
    "33": ("浙江省", "Zhejiang Province"),
    "34": ("安徽省", "Anhui Province"),
    "35": ("福建省", "Fujian Province"),
    "36": ("江西省", "Jiangxi Province"),
    "37": ("山东省", "Shandong Province"),
    "41": ("河南省", "Henan Province"),
    "42": ("湖北省", "Hubei Province"),
    "43": ("湖南省", "Hunan Province"),
    "44": ("广东省", "Guangdong Province"),
    "45": ("广西壮族自治区", "Guangxi Zhuang Autonomous Region"),
    "46": ("海南省", "Hainan Province"),
    "50": ("重庆市", "Chongqing"),
    "51": ("四川省", "Sichuan Province"),
    "52": ("贵州省", "Guizhou Province"),
    "53": ("云南省", "Yunnan Province"),
    "54": ("西藏自治区", "Xizang Autonomous Region"),
    "61": ("陕西省", "Shaanxi Province"),
    "62": ("甘肃省", "Gansu Province"),
    "63": ("青海省", "Qinghai Province"),
    "64": ("宁夏回族自治区", "Ningxia Hui Autonomous Region"),
    "65": ("新疆维吾尔自治区", "Xinjiang Uygur Autonomous Region"),
    "71": ("台湾省", "Taiwan Province"),
    "81": ("香港特别行政区", "Hong Kong SAR"),
    "82": ("澳门特别行政区", "Macao SAR"),
}
OFFICIAL_LIST_ZH = {
    "confirmed": "确诊病例",
    "suspected": "疑似病例",
    "asymptomatic": "无症状感染者",
    "close_contact": "密切接触者",
}
OFFICIAL_LIST_EN = {
    "confirmed": "confirmed cases",
    "suspected": "suspected cases",
    "asymptomatic": "asymptomatic infections",
    "close_contact": "close contacts",
}
# How a manual reason names the published rule it is tied to.
_RULE_TITLES = {
    RULE_RETURN_REGION: ("来（返）{home}地区", "the region returned from"),
    RULE_CONTACT: ("接触确诊、疑似或无症状感染者", "contact with a case"),
    RULE_SYMPTOMS: ("发热或症状", "fever or symptoms"),
    RULE_OFFICIAL_LIST: ("卫生健康部门通报名单", "the health commission's official lists"),
}
# How each risk rule is named in observation and check-in steps.
_LABELS = {
    RULE_MANUAL: ("人工赋码", "manual"),
    RULE_OFFICIAL_LIST: ("列入名单", "official-list"),
    RULE_RETURN_REGION: ("返邕", "post-return"),
    RULE_CONTACT: ("接触", "post-contact"),
    RULE_CHECKIN_CONTACT: ("打卡报告新接触", "post-contact"),
    RULE_SYMPTOMS: ("症状", "symptom"),
    RULE_CHECKIN_SYMPTOMS: ("打卡症状", "symptom"),
}
# The order of reasons of the same severity: the officials' findings first.
_RULE_ORDER = {
    RULE_MANUAL: 0,
    RULE_OFFICIAL_LIST: 1,
    RULE_RETURN_REGION: 2,
    RULE_CONTACT: 3,
    RULE_CHECKIN_CONTACT: 4,
    RULE_SYMPTOMS: 5,
    RULE_CHECKIN_SYMPTOMS: 6,
}


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _temp(value: float) -> str:
    return f"{value:.1f}"


def _symptoms_zh(codes: Iterable[str]) -> str:
    return "、".join(SYMPTOM_ZH.get(c, c) for c in codes)


def _symptoms_en(codes: Iterable[str]) -> str:
    return ", ".join(SYMPTOM_EN.get(c, c) for c in codes)


def _region_names(
    rule_set: RuleSet, decl: Declaration, entry: RegionEntry | None
) -> tuple[str, str]:
    code = decl.return_region
    if not code:
        return "外地（未申报返回地区）", "elsewhere (region not declared)"
    zh, en = decl.return_region_name_zh, decl.return_region_name_en
    if entry is not None and entry.code == code:
        zh = zh or entry.name_zh or None
        en = en or entry.name_en or None
    if code == rule_set.home_city:
        zh, en = zh or rule_set.home_name_zh, en or rule_set.home_name_en
    province = PROVINCE_NAMES.get(code[:2])
    if province is not None and code[2:] == "0000":
        zh, en = zh or province[0], en or province[1]
    if zh is None:
        zh = f"{province[0]}（{code}）" if province else f"地区 {code}"
    if en is None:
        en = f"{province[1]}, region {code}" if province else f"region {code}"
    return zh, en


# --- Deciding -------------------------------------------------------------------------------


class _Trigger:
    """One risk fact: its colour, dates and what clears it."""

    __slots__ = (
        "rule",
        "color",
        "start",
        "observation_days",
        "reported_at",
        "first_checkin_day",
        "period_end_day",
        "required",
        "counted",
        "clear_at",
        "needs_review",
        "clearable",
    )

    def __init__(
        self,
        rule: str,
        color: str,
        start: date,
        observation_days: int,
        reported_at: datetime,
        first_checkin_day: date,
    ) -> None:
        self.rule = rule
        self.color = color
        self.start = start
        self.observation_days = observation_days
        self.reported_at = reported_at
        self.first_checkin_day = first_checkin_day
        self.period_end_day = start + timedelta(days=observation_days)
        self.required = 0
        self.counted = 0
        self.clear_at: datetime | None = None
        self.needs_review = False
        self.clearable = False

    def window_start(self) -> date:
        return max(self.start, self.first_checkin_day)

    def cleared(self, at: datetime) -> bool:
        return self.clearable and self.clear_at is not None and self.clear_at <= at


def _review_order(review: ReviewFact) -> tuple[datetime, bool, str, str, str]:
    """The latest review wins; at the same instant a refusal wins; the rest only makes the
    choice independent of the order of the facts."""
    return (
        review.decided_at,
        review.outcome != APPROVE,
        review.note,
        review.decided_at.isoformat(),
        review.outcome,
    )


def _official_order(entry: OfficialListFact) -> tuple[date, str, datetime, str]:
    return (entry.listed_on, entry.kind, entry.at, entry.at.isoformat())


def _manual_order(manual: ManualFact) -> tuple[datetime, str, str, str]:
    return (manual.decided_at, manual.color, manual.reason_code, manual.decided_at.isoformat())


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _color_at(triggers: list[_Trigger], at: datetime) -> str:
    worst = 0
    for trigger in triggers:
        if not trigger.cleared(at):
            worst = max(worst, SEVERITY[trigger.color])
    return COLORS[worst]


def decide(facts: Facts, rule_set: RuleSet, now: datetime) -> Decision:
    """The colour of a code with these facts at `now` under `rule_set`, with its reasons,
    path to green and the instant its colour next changes by time alone.

    Deterministic: the same facts, rule set and time give an equal Decision (the order of
    check-ins and reviews does not matter)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = rule_set.tz
    decl = facts.declaration
    declared_day = decl.declared_at.astimezone(tz).date()
    sym_rule = rule_set.symptoms
    threshold = sym_rule.fever_threshold
    counted_symptoms = sym_rule.symptoms

    triggers: list[_Trigger] = []
    decl_reasons: dict[str, tuple[str, str, dict[str, Any]]] = {}
    green_reasons: list[Reason] = []

    # 1. Where the resident came back from.
    if not decl.returned_from_elsewhere:
        green_reasons.append(
            Reason(
                RULE_NEVER_LEFT,
                f"疫情期间一直未离{rule_set.home_short_name_zh}：{COLOR_ZH[GREEN]}",
                f"Has not left {rule_set.home_name_en} during the epidemic: {COLOR_EN[GREEN]}",
                {"returned_from_elsewhere": False, "color": GREEN},
            )
        )
    else:
        code = decl.return_region
        entry = rule_set.match_region(code)
        color = rule_set._region_color(code, entry)
        name_zh, name_en = _region_names(rule_set, decl, entry)
        arrival = decl.arrival_date
        arrival_zh = (
            f"到{rule_set.home_short_name_zh}时间 {arrival.isoformat()}"
            if arrival
            else (f"到{rule_set.home_short_name_zh}时间未申报")
        )
        arrival_en = f"arrived {arrival.isoformat()}" if arrival else "arrival date not declared"
        if entry is not None and entry.code == code:
            basis_zh, basis_en = "规则所列地区", "a listed region"
        elif entry is not None:
            basis_zh = f"属规则所列地区{entry.name_zh or entry.code}"
            basis_en = f"within the listed region {entry.name_en or entry.code}"
        elif code and code[:2] == rule_set.home_province[:2]:
            province_zh, province_en = PROVINCE_NAMES.get(code[:2], (code, code))
            basis_zh, basis_en = f"{province_zh}内", f"inside {province_en}"
        else:
            province_zh, province_en = PROVINCE_NAMES[rule_set.home_province[:2]]
            basis_zh, basis_en = f"{province_zh}以外", f"outside {province_en}"
        text_zh = f"自{name_zh}返{rule_set.home_short_name_zh}（{arrival_zh}；{basis_zh}）：{COLOR_ZH[color]}"
        text_en = (
            f"Returned to {rule_set.home_name_en} from {name_en} ({arrival_en}; {basis_en}): "
            f"{COLOR_EN[color]}"
        )
        reason_facts = {
            "returned_from_elsewhere": True,
            "return_region": code,
            "matched_region": entry.code if entry is not None else None,
            "region_name_zh": name_zh,
            "region_name_en": name_en,
            "arrival_date": _iso(arrival),
            "color": color,
        }
        if color == GREEN:
            green_reasons.append(Reason(RULE_RETURN_REGION, text_zh, text_en, reason_facts))
        else:
            decl_reasons[RULE_RETURN_REGION] = (text_zh, text_en, reason_facts)
            triggers.append(
                _Trigger(
                    RULE_RETURN_REGION,
                    color,
                    arrival or declared_day,
                    rule_set.return_region.observation_days,
                    decl.declared_at,
                    declared_day,
                )
            )

    # 2. Declared contact with a confirmed, suspected or asymptomatic case.
    contact_rule = rule_set.contact
    if decl.contact_with_case:
        color = contact_rule.color
        when = decl.contact_date
        when_zh = f"接触日期 {when.isoformat()}" if when else "接触日期未申报"
        when_en = f"on {when.isoformat()}" if when else "date not declared"
        text_zh = f"与确诊、疑似或无症状感染者有接触（{when_zh}）：{COLOR_ZH[color]}"
        text_en = f"Contact with a confirmed, suspected or asymptomatic case ({when_en}): {COLOR_EN[color]}"
        reason_facts = {"contact_with_case": True, "contact_date": _iso(when), "color": color}
        if color == GREEN:
            green_reasons.append(Reason(RULE_CONTACT, text_zh, text_en, reason_facts))
        else:
            decl_reasons[RULE_CONTACT] = (text_zh, text_en, reason_facts)
            triggers.append(
                _Trigger(
                    RULE_CONTACT,
                    color,
                    when or declared_day,
                    contact_rule.observation_days,
                    decl.declared_at,
                    declared_day,
                )
            )

    # 3. Declared fever or symptoms.
    declared_symptoms = sorted(decl.symptoms & counted_symptoms)
    temperature = decl.temperature
    declared_fever = temperature is not None and temperature >= threshold
    if declared_symptoms or declared_fever:
        color = sym_rule.color
        parts_zh, parts_en = [], []
        if declared_fever:
            assert temperature is not None
            parts_zh.append(f"体温 {_temp(temperature)}°C，不低于 {_temp(threshold)}°C")
            parts_en.append(f"temperature {_temp(temperature)} °C, at least {_temp(threshold)} °C")
        if declared_symptoms:
            parts_zh.append(_symptoms_zh(declared_symptoms))
            parts_en.append(_symptoms_en(declared_symptoms))
        text_zh = f"申报时有发热或症状（{'；'.join(parts_zh)}）：{COLOR_ZH[color]}"
        text_en = f"Fever or symptoms declared ({'; '.join(parts_en)}): {COLOR_EN[color]}"
        reason_facts = {
            "symptoms": declared_symptoms,
            "temperature": decl.temperature,
            "fever_threshold": threshold,
            "color": color,
        }
        if color == GREEN:
            green_reasons.append(Reason(RULE_SYMPTOMS, text_zh, text_en, reason_facts))
        else:
            decl_reasons[RULE_SYMPTOMS] = (text_zh, text_en, reason_facts)
            triggers.append(
                _Trigger(
                    RULE_SYMPTOMS,
                    color,
                    declared_day,
                    sym_rule.observation_days,
                    decl.declared_at,
                    declared_day,
                )
            )

    # 4. Check-ins: risks they report, and the days checked in clean.
    clean_days: set[date] = set()
    unclean_days: set[date] = set()
    checkin_triggers: dict[str, list[tuple[_Trigger, CheckInFact]]] = {}
    for checkin in facts.checkins:
        found = checkin.symptoms & counted_symptoms
        fever = checkin.temperature >= threshold
        risky = False
        next_day = checkin.day + timedelta(days=1)
        if (found or fever) and sym_rule.color != GREEN:
            risky = True
            trigger = _Trigger(
                RULE_CHECKIN_SYMPTOMS,
                sym_rule.color,
                checkin.day,
                sym_rule.observation_days,
                checkin.at,
                next_day,
            )
            triggers.append(trigger)
            checkin_triggers.setdefault(RULE_CHECKIN_SYMPTOMS, []).append((trigger, checkin))
        if checkin.new_contact and contact_rule.color != GREEN:
            risky = True
            trigger = _Trigger(
                RULE_CHECKIN_CONTACT,
                contact_rule.color,
                checkin.day,
                contact_rule.observation_days,
                checkin.at,
                next_day,
            )
            triggers.append(trigger)
            checkin_triggers.setdefault(RULE_CHECKIN_CONTACT, []).append((trigger, checkin))
        if risky or found or fever or checkin.new_contact:
            unclean_days.add(checkin.day)
        else:
            clean_days.add(checkin.day)
    clean_sorted = sorted(clean_days - unclean_days)

    # 4a. Official lists: each entry is a risk from the day listed, recorded at `at`. Sorted,
    # so that the reasons do not depend on the order of the facts.
    official_rule = rule_set.official_list
    official_triggers: list[tuple[_Trigger, OfficialListFact]] = []
    if official_rule.color != GREEN:
        for entry in sorted(facts.official_lists, key=_official_order):
            trigger = _Trigger(
                RULE_OFFICIAL_LIST,
                official_rule.color,
                entry.listed_on,
                official_rule.observation_days,
                entry.at,
                entry.at.astimezone(tz).date(),
            )
            triggers.append(trigger)
            official_triggers.append((trigger, entry))

    # 4b. Manual colours: a risk of its colour from its confirmation, until approved.
    manual_triggers: list[tuple[_Trigger, ManualFact]] = []
    for manual in sorted(facts.manual, key=_manual_order):
        if manual.color not in MANUAL_COLORS:
            continue  # only yellow and red can be set by hand
        day = manual.decided_at.astimezone(tz).date()
        trigger = _Trigger(RULE_MANUAL, manual.color, day, 0, manual.decided_at, day)
        triggers.append(trigger)
        manual_triggers.append((trigger, manual))

    # 5. Reviews: the latest one decided after the latest risk event counts ("refuse" wins a tie).
    review_status = "none"
    review: ReviewFact | None = None
    if triggers:
        latest_event = max(t.reported_at for t in triggers)
        after = [r for r in facts.reviews if r.decided_at > latest_event]
        if after:
            review = max(after, key=_review_order)
        if review is None:
            review_status = "pending"
        else:
            review_status = "approved" if review.outcome == APPROVE else "refused"

    # 6. When each trigger clears by itself.
    review_colors = rule_set.review_colors
    daily = rule_set.daily_checkins
    n_clean = len(clean_sorted)
    for trigger in triggers:
        # A manual colour always needs a review, whatever the colours the rule set reviews.
        trigger.needs_review = trigger.color in review_colors or trigger.rule == RULE_MANUAL
        period_end = _midnight(trigger.period_end_day, tz)
        if daily:
            window = trigger.window_start()
            trigger.required = max(0, (trigger.period_end_day - window).days)
            first = bisect_left(clean_sorted, window)
            trigger.counted = n_clean - first
            if trigger.counted >= trigger.required:
                if trigger.required:
                    last_day = clean_sorted[first + trigger.required - 1]
                    trigger.clear_at = max(period_end, _midnight(last_day, tz))
                else:
                    trigger.clear_at = period_end
        else:
            trigger.clear_at = period_end
        trigger.clearable = not trigger.needs_review or review_status == "approved"

    color = _color_at(triggers, now)

    # 7. Time-only changes ahead.
    due = sorted(
        {
            t.clear_at
            for t in triggers
            if t.clearable and t.clear_at is not None and t.clear_at > now
        }
    )
    next_change_at: datetime | None = None
    for instant in due:
        if _color_at(triggers, instant) != color:
            next_change_at = instant
            break
    active = [t for t in triggers if not t.cleared(now)]
    updates = set(due)
    updates.update(
        _midnight(t.period_end_day, tz) for t in active if _midnight(t.period_end_day, tz) > now
    )
    next_update_at = min(updates) if updates else None

    reasons = _reasons(
        triggers,
        active,
        decl_reasons,
        checkin_triggers,
        official_triggers,
        manual_triggers,
        green_reasons,
        review_status,
        review,
        rule_set,
        now,
    )
    path = () if color == GREEN else _path(active, review_status, review, tz, now, rule_set)
    return Decision(
        color=color,
        reasons=reasons,
        path_to_green=path,
        next_change_at=next_change_at,
        next_update_at=next_update_at,
    )


def _reasons(
    triggers: list[_Trigger],
    active: list[_Trigger],
    decl_reasons: dict[str, tuple[str, str, dict[str, Any]]],
    checkin_triggers: dict[str, list[tuple[_Trigger, CheckInFact]]],
    official_triggers: list[tuple[_Trigger, OfficialListFact]],
    manual_triggers: list[tuple[_Trigger, ManualFact]],
    green_reasons: list[Reason],
    review_status: str,
    review: ReviewFact | None,
    rule_set: RuleSet,
    now: datetime,
) -> tuple[Reason, ...]:
    """Active risks first (most severe first), then a refusal, then cleared declared risks,
    then the green facts. Check-in risks are grouped per rule; cleared check-in, official-list
    and manual risks are left out."""
    tz = rule_set.tz
    active_ids = {id(t) for t in active}
    entries: list[tuple[int, int, int, Reason]] = []  # (group, -severity, rule order, reason)
    shown: set[tuple[str, str]] = set()  # the same finding twice is one reason

    def add_once(color: str, reason: Reason) -> None:
        key = (reason.rule, reason.text_zh)
        if key not in shown:
            shown.add(key)
            entries.append((0, -SEVERITY[color], _RULE_ORDER[reason.rule], reason))

    for trigger, manual in manual_triggers:
        if id(trigger) in active_ids:
            add_once(trigger.color, _manual_reason(manual, trigger.color, rule_set))
    for trigger, entry in official_triggers:
        if id(trigger) in active_ids:
            add_once(trigger.color, _official_reason(entry, trigger.color))

    for trigger in triggers:
        if trigger.rule not in decl_reasons:
            continue
        text_zh, text_en, reason_facts = decl_reasons[trigger.rule]
        is_active = id(trigger) in active_ids
        reason_facts = {**reason_facts, "status": "active" if is_active else "cleared"}
        if not is_active:
            if trigger.needs_review:
                text_zh += "；已审核通过且观察期满，已解除"
                text_en += "; cleared after approval and the observation period"
            else:
                text_zh += "；观察期满，已解除"
                text_en += "; cleared after the observation period"
        entries.append(
            (
                0 if is_active else 2,
                -SEVERITY[trigger.color],
                _RULE_ORDER[trigger.rule],
                Reason(trigger.rule, text_zh, text_en, reason_facts),
            )
        )

    for rule, items in checkin_triggers.items():
        live = [(t, c) for t, c in items if id(t) in active_ids]
        if not live:
            continue
        live.sort(key=lambda pair: (pair[1].day, pair[1].at))
        color = COLORS[max(SEVERITY[t.color] for t, _ in live)]
        days = sorted({c.day.isoformat() for _, c in live})
        days_zh = "、".join(days)
        days_en = ", ".join(days)
        if rule == RULE_CHECKIN_SYMPTOMS:
            max_temp = max(c.temperature for _, c in live)
            symptoms = sorted(set().union(*(c.symptoms for _, c in live)) & set(SYMPTOMS))
            parts_zh = [f"最高体温 {_temp(max_temp)}°C"]
            parts_en = [f"highest temperature {_temp(max_temp)} °C"]
            if symptoms:
                parts_zh.append(_symptoms_zh(symptoms))
                parts_en.append(_symptoms_en(symptoms))
            text_zh = (
                f"健康打卡报告发热或症状（{days_zh}；{'；'.join(parts_zh)}）：{COLOR_ZH[color]}"
            )
            text_en = (
                f"Fever or symptoms reported in the daily check-in ({days_en}; "
                f"{'; '.join(parts_en)}): {COLOR_EN[color]}"
            )
            reason_facts: dict[str, Any] = {
                "days": days,
                "max_temperature": max_temp,
                "symptoms": symptoms,
                "color": color,
                "status": "active",
            }
        else:
            text_zh = (
                f"健康打卡报告与确诊、疑似或无症状感染者有新接触（{days_zh}）：{COLOR_ZH[color]}"
            )
            text_en = (
                "New contact with a confirmed, suspected or asymptomatic case reported in the "
                f"daily check-in ({days_en}): {COLOR_EN[color]}"
            )
            reason_facts = {"days": days, "color": color, "status": "active"}
        entries.append(
            (0, -SEVERITY[color], _RULE_ORDER[rule], Reason(rule, text_zh, text_en, reason_facts))
        )

    if review_status == "refused" and review is not None and active:
        day = review.decided_at.astimezone(tz).date().isoformat()
        note_zh = f"：{review.note}" if review.note else ""
        note_en = f": {review.note}" if review.note else ""
        entries.append(
            (
                1,
                0,
                0,
                Reason(
                    RULE_REVIEW,
                    f"审核未通过（{day}{note_zh}），维持{COLOR_ZH[_color_at(active, now)]}",
                    f"Review refused on {day}{note_en}; the {COLOR_EN[_color_at(active, now)]} stays",
                    {
                        "outcome": REFUSE,
                        "decided_at": review.decided_at.isoformat(),
                        "note": review.note,
                    },
                ),
            )
        )

    entries.sort(key=lambda e: e[:3])
    return tuple(e[3] for e in entries) + tuple(green_reasons)


def _official_reason(entry: OfficialListFact, color: str) -> Reason:
    listed = entry.listed_on.isoformat()
    kind_zh = OFFICIAL_LIST_ZH.get(entry.kind, entry.kind)
    kind_en = OFFICIAL_LIST_EN.get(entry.kind, entry.kind)
    return Reason(
        RULE_OFFICIAL_LIST,
        f"经卫生健康部门通报，列入{kind_zh}名单（{listed} 列入）：{COLOR_ZH[color]}",
        f"On the health commission's official list of {kind_en} (listed {listed}): "
        f"{COLOR_EN[color]}",
        {"kind": entry.kind, "listed_on": listed, "color": color, "status": "active"},
    )


def _manual_reason(manual: ManualFact, color: str, rule_set: RuleSet) -> Reason:
    """The reason of the closed list, naming the published rule it applies; a reason code
    the rule set no longer lists is still shown, by its code."""
    day = manual.decided_at.astimezone(rule_set.tz).date().isoformat()
    reason = rule_set.manual_reason(manual.reason_code)
    if reason is not None:
        title_zh, title_en = _RULE_TITLES[reason.rule]
        title_zh = title_zh.format(home=rule_set.home_short_name_zh)
        text_zh = (
            f"人工赋码：{reason.text_zh}（依据“{title_zh}”规则，{day} 经第二名工作人员复核确认）："
            f"{COLOR_ZH[color]}"
        )
        text_en = (
            f"Set by hand: {reason.text_en} (under the rule on {title_en}; confirmed by a second "
            f"official on {day}): {COLOR_EN[color]}"
        )
    else:
        text_zh = f"人工赋码（原因代码 {manual.reason_code}，{day} 经复核确认）：{COLOR_ZH[color]}"
        text_en = (
            f"Set by hand (reason code {manual.reason_code}; confirmed on {day}): {COLOR_EN[color]}"
        )
    return Reason(
        RULE_MANUAL,
        text_zh,
        text_en,
        {
            "reason_code": manual.reason_code,
            "rule": reason.rule if reason is not None else None,
            "decided_at": manual.decided_at.isoformat(),
            "color": color,
            "status": "active",
        },
    )


def _path(
    active: list[_Trigger],
    review_status: str,
    review: ReviewFact | None,
    tz: ZoneInfo,
    now: datetime,
    rule_set: RuleSet,
) -> tuple[Step, ...]:
    """What is still needed, and what is done, for the active risks to clear."""
    steps: list[Step] = []
    if any(t.needs_review for t in active):
        if review_status == "approved" and review is not None:
            day = review.decided_at.astimezone(tz).date()
            steps.append(
                Step(
                    RULE_REVIEW,
                    f"已于 {day.isoformat()} 审核通过，满足以下条件后自动转为绿码",
                    f"Approved by review on {day.isoformat()}; the code turns green automatically "
                    "once the conditions below are met",
                    day,
                    True,
                )
            )
        elif review_status == "refused" and review is not None:
            day = review.decided_at.astimezone(tz).date()
            note_zh = f"：{review.note}" if review.note else ""
            note_en = f": {review.note}" if review.note else ""
            steps.append(
                Step(
                    RULE_REVIEW,
                    f"审核未通过（{day.isoformat()}{note_zh}），需重新审核通过",
                    f"Review refused on {day.isoformat()}{note_en}; a new review must approve",
                    day,
                    False,
                )
            )
        else:
            latest = max(t.reported_at for t in active).astimezone(tz).date()
            steps.append(
                Step(
                    RULE_REVIEW,
                    "等待审核部门按规定审核确认",
                    "Awaiting approval by a reviewer, as the regulations require",
                    latest,
                    False,
                )
            )

    for trigger in _binding(active):
        label_zh, label_en = _LABELS[trigger.rule]
        if trigger.observation_days:
            end = trigger.period_end_day
            last = end - timedelta(days=1)
            steps.append(
                Step(
                    f"{trigger.rule}.observation",
                    f"{label_zh}观察期 {trigger.start.isoformat()} 至 {last.isoformat()}"
                    f"（{trigger.observation_days} 天），{end.isoformat()} 起期满",
                    f"The {label_en} observation period runs from {trigger.start.isoformat()} "
                    f"to {last.isoformat()} ({trigger.observation_days} days) and is over "
                    f"from {end.isoformat()}",
                    end,
                    _midnight(end, tz) <= now,
                )
            )
        if rule_set.daily_checkins and trigger.required:
            window = trigger.window_start()
            done = min(trigger.counted, trigger.required)
            steps.append(
                Step(
                    f"{trigger.rule}.checkins",
                    f"自 {window.isoformat()} 起每日健康打卡，无发热、无症状、无新接触，"
                    f"共需 {trigger.required} 天，已完成 {done} 天（漏打卡的天数顺延补足）",
                    f"Check in every day from {window.isoformat()} without fever, symptoms or "
                    f"new contact: {done} of {trigger.required} days done (missed days are "
                    "made up by later days)",
                    window,
                    trigger.counted >= trigger.required,
                )
            )

    # The day it turns green, when only time is left.
    pending = [t for t in active if not t.clearable or t.clear_at is None]
    green_on: date | None = None
    if not pending and active:
        green_on = max(t.clear_at for t in active if t.clear_at is not None).astimezone(tz).date()
    if green_on is not None:
        text_zh = f"{green_on.isoformat()} 起自动转为绿码"
        text_en = f"The code turns green automatically on {green_on.isoformat()}"
    else:
        text_zh = "满足以上条件后自动转为绿码"
        text_en = "The code turns green automatically once the conditions above are met"
    steps.append(Step(STEP_AUTOMATIC_GREEN, text_zh, text_en, green_on, False))
    return tuple(steps)


def _binding(active: list[_Trigger]) -> list[_Trigger]:
    """The active triggers whose observation and check-in conditions are not implied by
    another's (a later period end, window start and requirement imply an earlier one), so the
    path shows one set of dates in the common case."""
    candidates = [t for t in active if t.observation_days or t.required]
    candidates.sort(key=lambda t: (_RULE_ORDER[t.rule], t.start, t.reported_at))
    kept: list[_Trigger] = []
    for i, trigger in enumerate(candidates):
        dominated = False
        for j, other in enumerate(candidates):
            if i == j:
                continue
            covers = (
                other.period_end_day >= trigger.period_end_day
                and other.window_start() >= trigger.window_start()
                and other.required >= trigger.required
            )
            same = (
                other.period_end_day == trigger.period_end_day
                and other.window_start() == trigger.window_start()
                and other.required == trigger.required
            )
            if covers and (not same or j < i):
                dominated = True
                break
        if not dominated:
            kept.append(trigger)
    return kept
