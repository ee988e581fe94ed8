"""A synthetic population for scale work (issue 6): residents with their accounts and health
codes, enterprises with their staff, and days of check-ins, attendance and scans — written in
bulk, consistent with every constraint and with what the app reads.

- **Residents**: one account (a unique mainland mobile number) and one code each. ID numbers
  are valid GB 11643 numbers (a region code that python-stdnum knows for the birth year, the
  birth date, a sequence number by sex, the check digit), unique, stored as the declaration
  stores them: encrypted (`codes.services.ID_NUMBER_CONTEXT`), with the blind index and the
  mask. Districts of Nanning by population; most residents never left, some came back from
  elsewhere in Guangxi (green), from other provinces (yellow) or from Hubei (red), a few
  declared a contact or symptoms; reviewers approve (or refuse) most of those.
- **Colours** come from the real rules engine and the rule set in force: each code's stored
  decision is `rules.decide` over the facts built from its generated rows at `now`. A code
  with no risk at all (no risky declaration, check-in, review) has the decision of its
  declaration alone — check-ins without fever, symptoms or contact add no trigger — decided
  once per distinct declaration. Every other code (about 3 %) is replayed event by event
  (declaration, check-ins, reviews, and the sweep's time-based changes in between), so its
  colour history (ColorChange rows, read by the statistics' daily trend), `color_since` and
  the colour of each attendance scan are what the services would have recorded; its stored
  decision is `rules.decide` over all its facts at `now`. (The tests re-derive every code of
  small populations; bench/scale.py re-derives all of a million.)
- **Enterprises**: approved, with valid unified social credit codes (GB 32100), a district
  and an industry section (GB/T 4754, supervising department from enterprises/data), sizes
  heavy-tailed; the first employee is the owner (manager, scanner). About 60 % of the
  residents are employees (linked to their codes). A few enterprises scan their staff in on
  workdays: that check-in comes with an Attendance row and a Scan row.
- **Check-ins**: `days` days up to today, ~85 % of the codes a day (people differ), a few
  fevers and new contacts (those codes turn yellow/red and get reviewed).

PostgreSQL: everything in one transaction, each table by `COPY … FROM STDIN` of text blocks
built here (2.3 times the rows/s of psycopg's `write_row` for the same rows, measured) and
sent by a writer thread while the next block is built, with the loaded tables' secondary
indexes and their unique and foreign-key constraints dropped before and recreated after (a
sorted index build and one set-based check per constraint instead of 30 million per-row index
inserts and deferred checks: 200,000 residents in 74 s instead of 137 s, measured), then
ANALYZE. A failure rolls it all back, constraints included. SQLite (tests, demos): the same
rows by executemany.

The tables filled here must be empty (accounts may exist: phones are chosen around them).
"""

from __future__ import annotations

import bisect
import functools
import gc
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from healthcode.codes import rules

Progress = Callable[[str], None]

# --- Reference data -----------------------------------------------------------------------------

# Common surnames (with Guangxi's 韦 覃 蒙 莫 黎 陆 农 梁), roughly by frequency.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐韦覃蒙莫黎陆农廖邓潘许"
    "韩冯曾彭萧蔡田董袁于余叶蒋杜苏魏程吕丁沈任姚卢姜崔钟谭汪范金石"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
GIVEN_MALE = "伟强磊军洋勇杰涛明超刚建国志海宁俊斌鹏飞华平辉波龙文武毅峰凯锋浩宇轩"
GIVEN_FEMALE = "芳娜秀英敏静丽艳娟霞玉兰桂红燕萍婷雪琳丹梅莉晶慧颖倩欣怡佳妍"

# Residents by district/county (2020 census, 10,000s) and a few in the development zones.
DISTRICT_WEIGHTS = {
    "450102": 45, "450103": 89, "450105": 75, "450107": 143, "450108": 48, "450109": 32,
    "450110": 69, "450123": 30, "450124": 39, "450125": 34, "450126": 80, "450181": 88,
    "45Z101": 10, "45Z102": 10, "45Z103": 8, "45Z104": 5,
}  # fmt: skip
ROADS = (
    "民族大道", "东葛路", "金湖路", "竹溪大道", "青秀路", "朝阳路", "友爱路", "大学东路",
    "大学西路", "明秀路", "秀厢大道", "江南大道", "星光大道", "白沙大道", "五一路", "亭洪路",
    "五象大道", "良庆大道", "蒲庙大道", "邕宁大道", "香山路", "解放路", "新阳路", "北湖路",
    "安吉大道", "昆仑大道", "长堽路", "厢竹大道", "中华路", "人民路", "兴宁路", "邕武路",
)  # fmt: skip
# Where people came back from: elsewhere in Guangxi (green by default), other provinces
# (yellow), Hubei (red). Only codes the regions table knows are used.
RETURN_GUANGXI = (
    "450200", "450300", "450400", "450500", "450600", "450700", "450800", "450900",
    "451000", "451100", "451200", "451300", "451400",
)  # fmt: skip
RETURN_OUTSIDE = (
    "440100", "440300", "440600", "441900", "440400", "441300", "442000", "430100",
    "350200", "310000", "110000", "510100", "530100", "460100", "330100", "320500", "500000",
)  # fmt: skip
RETURN_HUBEI = ("420100", "420500", "420600", "421000", "420900", "421100")
# Birth places of residents born outside Nanning (ID-number regions; counties under these).
BORN_ELSEWHERE = ("450200", "450300", "450800", "450900", "451000", "440100", "430100")

# Shares of residents by what they declared (the rest never left Nanning).
SHARE_GUANGXI = 0.030
SHARE_OUTSIDE = 0.025
SHARE_HUBEI = 0.0015
SHARE_CONTACT = 0.001
SHARE_SYMPTOMS = 0.002
SHARE_EMPLOYED = 0.60
SHARE_SCANNING_ENTERPRISES = 0.05  # scan their staff in on workdays
FEVER_PER_CHECKIN = 0.00015
NEW_CONTACT_PER_CHECKIN = 0.00003
# Check-in propensity (per day): (share of residents, probability); about 85 % on average.
PROPENSITY = ((0.60, 0.95), (0.30, 0.80), (0.10, 0.45))

INDUSTRY_WEIGHTS = {
    "A": 2, "B": 0.5, "C": 15, "D": 1, "E": 1, "F": 8, "G": 25, "H": 10, "I": 6, "J": 2,
    "K": 3, "L": 8, "M": 4, "N": 2, "O": 5, "P": 3, "Q": 3, "R": 2, "S": 0.5, "T": 0.1,
}  # fmt: skip
ENTERPRISE_CITIES = ("南宁", "南宁市", "广西", "广西南宁")
ENTERPRISE_CHARS = (
    "宏达鑫源华盛永泰恒通邕城绿金桂博远德润嘉禾瑞丰天成中联广新锐万家安联创信和凯越正兴"
    "振东方南国海鼎富康邦科利民诚合众祥泽明辉聚启航同卓致弘毅立荣昌百川千禧壮锦五象青山"
)
INDUSTRY_SUFFIXES = {
    "A": ("农业开发", "种植", "生态农业"), "B": ("矿业",),
    "C": ("机械制造", "食品", "电子科技", "制药", "建材", "糖业"), "D": ("电力", "能源"),
    "E": ("水务", "环保工程"), "F": ("建筑工程", "建设工程", "装饰工程"),
    "G": ("商贸", "百货", "超市", "医药连锁"), "H": ("餐饮管理", "酒店", "饮食"),
    "I": ("网络科技", "信息技术", "软件"), "J": ("投资", "融资担保"),
    "K": ("房地产开发", "物业服务"), "L": ("商务服务", "人力资源", "广告"),
    "M": ("检测技术", "设计研究"), "N": ("市政园林", "环境卫生"), "O": ("家政服务", "汽车维修"),
    "P": ("教育咨询", "培训"), "Q": ("医疗", "健康管理"), "R": ("文化传媒", "体育发展"),
    "S": ("社会服务",), "T": ("国际合作",),
}  # fmt: skip
STAFF_DEPARTMENTS = ("", "生产部", "行政部", "财务部", "销售部", "技术部", "后勤部", "人事部")
REVIEW_NOTES = ("", "已核实", "已电话核实，居家观察", "社区已上门核实")

# Resident phone prefixes; staff accounts made here use 199 (never a resident's).
PHONE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "176 177 178 180 181 182 183 185 186 187 188 189 198"
).split()
STAFF_PREFIX = "199"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BLOCK_ROWS = 20_000


class PopulationError(RuntimeError):
    """The population can't be generated here (e.g. the tables are not empty)."""


# --- Tables: columns and how the text is typed ---------------------------------------------------

# kind: i int, b bool (t/f), s text, ts timestamptz (UTC, "+00:00"), d date, u uuid, j json,
# n numeric. Checked against the models at run time (a model change fails loudly).
TABLES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "user": ("accounts.User", (
        ("id", "i"), ("password", "s"), ("last_login", "ts"), ("is_superuser", "b"),
        ("phone", "s"), ("is_active", "b"), ("is_staff", "b"), ("date_joined", "ts"),
    )),
    "code": ("codes.HealthCode", (
        ("id", "i"), ("public_id", "u"), ("account_id", "i"), ("relation", "s"), ("name", "s"),
        ("id_number_encrypted", "s"), ("id_number_index", "s"), ("id_number_masked", "s"),
        ("phone", "s"), ("address", "s"), ("district_id", "s"), ("returned_to_work", "b"),
        ("employer", "s"), ("returned_from_elsewhere", "b"), ("return_region_id", "s"),
        ("arrival_date", "d"), ("contact_with_case", "b"), ("contact_date", "d"),
        ("symptoms", "j"), ("temperature", "n"), ("attested_at", "ts"), ("color", "s"),
        ("reasons", "j"), ("path_to_green", "j"), ("rule_set_id", "s"),
        ("rule_set_version", "i"), ("next_change_at", "ts"), ("color_since", "ts"),
        ("created_at", "ts"), ("updated_at", "ts"),
    )),
    "change": ("codes.ColorChange", (
        ("id", "i"), ("code_id", "i"), ("at", "ts"), ("color_from", "s"), ("color_to", "s"),
        ("reasons", "j"), ("rule_set_id", "s"), ("rule_set_version", "i"), ("cause", "s"),
    )),
    "review": ("codes.Review", (
        ("id", "i"), ("code_id", "i"), ("reviewer_id", "i"), ("outcome", "s"), ("note", "s"),
        ("decided_at", "ts"),
    )),
    "enterprise": ("enterprises.Enterprise", (
        ("id", "i"), ("name", "s"), ("credit_code", "s"), ("district_id", "s"),
        ("industry", "s"), ("department", "s"), ("address", "s"), ("contact_name", "s"),
        ("contact_phone", "s"), ("status", "s"), ("registered_by_id", "i"),
        ("decided_by_id", "i"), ("decided_at", "ts"), ("decision_note", "s"),
        ("created_at", "ts"),
    )),
    "manager": ("enterprises.EnterpriseManager", (
        ("id", "i"), ("enterprise_id", "i"), ("user_id", "i"), ("role", "s"), ("added_at", "ts"),
    )),
    "employee": ("enterprises.Employee", (
        ("id", "i"), ("enterprise_id", "i"), ("name", "s"), ("phone", "s"), ("code_id", "i"),
        ("department_name", "s"), ("returned_to_work", "b"), ("returned_on", "d"),
        ("can_scan", "b"), ("active", "b"), ("added_at", "ts"), ("removed_at", "ts"),
    )),
    "checkin": ("checkins.CheckIn", (
        ("id", "i"), ("code_id", "i"), ("day", "d"), ("temperature", "n"), ("symptoms", "j"),
        ("in_nanning", "b"), ("new_contact", "b"), ("source", "s"), ("recorded_by_id", "i"),
        ("revision", "i"), ("created_at", "ts"), ("updated_at", "ts"),
    )),
    "attendance": ("enterprises.Attendance", (
        ("id", "i"), ("enterprise_id", "i"), ("employee_id", "i"), ("code_id", "i"),
        ("scanner_id", "i"), ("at", "ts"), ("day", "d"), ("color", "s"), ("verdict", "s"),
        ("temperature", "n"), ("symptoms", "j"), ("checkin_id", "i"),
    )),
    "scan": ("codes.Scan", (
        ("id", "i"), ("scanner_id", "i"), ("code_id", "i"), ("at", "ts"), ("result", "s"),
        ("color", "s"), ("ip", "s"),
    )),
}  # fmt: skip
# The order of loading (on SQLite the foreign keys are checked at commit; on PostgreSQL they
# are added after the load).
LOAD_ORDER = (
    "user", "code", "change", "review", "enterprise", "manager", "employee", "checkin",
    "attendance", "scan",
)  # fmt: skip


def _model(key: str) -> Any:
    from django.apps import apps

    return apps.get_model(TABLES[key][0])


def _check_columns() -> None:
    for key, (label, columns) in TABLES.items():
        model = _model(key)
        expected = {f.column for f in model._meta.concrete_fields}
        ours = {c for c, _kind in columns}
        if expected != ours:
            raise PopulationError(
                f"{label}: the generator's columns differ from the model's "
                f"(missing {sorted(expected - ours)}, unknown {sorted(ours - expected)})"
            )


def _copy_text(value: str) -> str:
    """A text value escaped for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _json(value: Any) -> str:
    return _copy_text(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))


@functools.lru_cache(maxsize=64)
def _symptoms_json(symptoms: tuple[str, ...]) -> str:
    return _json(list(symptoms))


def _ts(moment: datetime | None) -> str:
    """A timestamptz for COPY: "2026-11-20 10:30:00+00:00" (the times here are all in UTC,
    whole seconds)."""
    if moment is None:
        return "\\N"
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ")


def _day(value: date | None) -> str:
    return "\\N" if value is None else value.isoformat()


# --- ID numbers and credit codes -----------------------------------------------------------------


class _IdNumbers:
    """Unique, valid GB 11643 numbers: a region code python-stdnum knows for the birth year
    (else the city's code, as older numbers were issued), the birth date, a sequence number
    (odd for men, even for women) counted per region and date, and the check digit."""

    def __init__(self, nanning_counties: list[str], elsewhere_counties: list[str]) -> None:
        self.pools = {"nanning": nanning_counties, "elsewhere": elsewhere_counties}
        self._valid: dict[tuple[str, int], list[str]] = {}
        self._next: dict[tuple[str, date, int], int] = {}

    def _regions(self, origin: str, year: int) -> list[str]:
        key = (origin, year)
        found = self._valid.get(key)
        if found is None:
            found = [r for r in self.pools[origin] if _known_birth_place(r, year)]
            if not found:
                found = ["450100" if origin == "nanning" else "450000"]
            self._valid[key] = found
        return found

    def make(self, rng: random.Random, origin: str, born: date, male: bool) -> str:
        regions = self._regions(origin, born.year)
        region = regions[int(rng.random() * len(regions))]
        for attempt in range(len(regions) + 1):
            if attempt:  # this region and date are full: the next region
                region = regions[(regions.index(region) + 1) % len(regions)]
            key = (region, born, male)
            n = self._next.get(key, 0)
            seq = 2 * n + (1 if male else 0)
            if seq <= 999:
                self._next[key] = n + 1
                body = f"{region}{born.isoformat().replace('-', '')}{seq:03d}"
                return body + ric.calc_check_digit(body + "0")
        raise PopulationError(f"no ID number left for {born}")


def _known_birth_place(region: str, year: int) -> bool:
    try:
        ric.get_birth_place(f"{region}{year}0101000" + "0")
    except StdnumError:
        return False
    return True


def _org_check(org: str) -> str:
    """The check character of an organisation code (GB 11714)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(ORG_ALPHABET.index(c) * w for c, w in zip(org, weights, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def credit_code(seq: int, region: str) -> str:
    """A valid unified social credit code (GB 32100), unique per `seq`: 91 (an enterprise),
    the 6-digit region, an organisation code "MA" + seq in 6 base-31 characters with its own
    check character, and the overall check character."""
    digits = []
    for _ in range(6):
        seq, rest = divmod(seq, 31)
        digits.append(USCC_ALPHABET[rest])
    if seq:
        raise PopulationError("credit code sequence out of range")
    org = "MA" + "".join(reversed(digits))
    body = f"91{region}{org}{_org_check(org)}"
    return body + uscc.calc_check_digit(body)


# --- The plan -------------------------------------------------------------------------------------

LOCAL, GUANGXI, OUTSIDE, HUBEI, CONTACT, SYMPTOMS = range(6)


@dataclass
class _Planned:
    """A check-in of a code whose facts are replayed (not a plain, risk-free code)."""

    day_index: int
    at: datetime
    temperature: str
    symptoms: tuple[str, ...]
    new_contact: bool
    scan: bool
    color_after: str = ""


@dataclass
class _Replayed:
    """What the replay of one code's events gives."""

    decision: rules.Decision
    changes: list[tuple[datetime, str, str, str, str]]  # at, from, to, reasons json, cause
    color_since: datetime
    updated_at: datetime  # the last re-derivation (an event or a sweep)


@dataclass
class _Shape:
    """The stored decision shared by the codes of one risk-free declaration."""

    color: str
    reasons: str  # COPY text of the JSON
    path: str


class _Population:
    """The plan of one population (per-resident columns, enterprises, risks) and its rows."""

    def __init__(
        self, *, residents: int, enterprises: int, days: int, seed: int, now: datetime
    ) -> None:
        from healthcode.codes.services import rule_set_in_force

        self.n = residents
        self.n_ent = enterprises
        self.days = days
        self.seed = seed
        self.now = now
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.today = now.astimezone(self.tz).date()
        self.day_list = [self.today - timedelta(days=days - 1 - k) for k in range(days)]
        self.window_start = self._local(self.day_list[0])
        self.rule_set = rule_set_in_force()
        self.counts: dict[str, int] = {}

    def _local(self, day: date, minutes: float = 0) -> datetime:
        """`minutes` after local midnight of `day`, in UTC (as the database gives times back:
        the engine writes the times it is given into reasons)."""
        start = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return (start + timedelta(minutes=minutes)).astimezone(UTC)

    # --- reference data from the database

    def load_reference(self) -> None:
        from healthcode.enterprises import industries
        from healthcode.regions import services as regions
        from healthcode.regions.models import Region

        districts = {r.code: r for r in regions.nanning_districts()}
        if not districts:
            raise PopulationError("no regions loaded (migrate first)")
        self.districts = [c for c in DISTRICT_WEIGHTS if c in districts] or sorted(districts)
        self.district_cum = list(
            itertools.accumulate(DISTRICT_WEIGHTS.get(c, 1) for c in self.districts)
        )
        self.district_name = {c: districts[c].name for c in self.districts}
        self.returns = {
            GUANGXI: [c for c in RETURN_GUANGXI if regions.is_region(c)],
            OUTSIDE: [c for c in RETURN_OUTSIDE if regions.is_region(c)],
            HUBEI: [c for c in RETURN_HUBEI if regions.is_region(c)],
        }
        for kind, codes in self.returns.items():
            if not codes:
                raise PopulationError(f"no return regions of kind {kind} in the regions table")
        self.region_names = {
            code: (regions.describe(code, "zh-hans"), regions.describe(code, "en"))
            for codes in self.returns.values()
            for code in codes
        }
        counties = list(Region.objects.filter(level="county").values_list("code", "parent_id"))
        nanning = sorted(c for c, parent in counties if parent == "450100")
        # A few counties of each city (each costs a region lookup per birth year).
        elsewhere = []
        for city in BORN_ELSEWHERE:
            elsewhere += sorted(c for c, parent in counties if parent == city)[:4]
        self.ids = _IdNumbers(nanning, elsewhere)
        sections = industries.sections()
        self.sections = sorted(sections)
        self.section_cum = list(
            itertools.accumulate(INDUSTRY_WEIGHTS.get(s, 1) for s in self.sections)
        )
        self.department_of = {s: industries.department_for(s) for s in self.sections}

    def pick_district(self, rng: random.Random) -> str:
        x = rng.random() * self.district_cum[-1]
        return self.districts[bisect.bisect_right(self.district_cum, x)]

    # --- accounts of the authorities (a handful, through the ORM)

    def staff_accounts(self) -> None:
        """A city admin, and per district an admin (approves enterprises) and a reviewer."""
        from healthcode.accounts.models import User
        from healthcode.backoffice.models import AdminRole

        granted = self.window_start - timedelta(days=30)
        wanted = {"city_admin": f"{STAFF_PREFIX}00000000"}
        for n, district in enumerate(self.districts, start=1):
            wanted[f"district_admin:{district}"] = f"{STAFF_PREFIX}1{n:07d}"
            wanted[f"reviewer:{district}"] = f"{STAFF_PREFIX}2{n:07d}"
        taken = set(User.objects.filter(phone__in=wanted.values()).values_list("phone", flat=True))
        if taken:
            raise PopulationError(f"staff phones already registered: {sorted(taken)}")
        users = User.objects.bulk_create(
            [User(phone=phone, password="!", date_joined=granted) for phone in wanted.values()]
        )
        by_key = {key: user for key, user in zip(wanted, users, strict=True)}
        if any(u.pk is None for u in users):  # SQLite before 3.35 returns no ids
            by_phone = {u.phone: u for u in User.objects.filter(phone__in=wanted.values())}
            by_key = {key: by_phone[phone] for key, phone in wanted.items()}
        roles = [AdminRole(user=by_key["city_admin"], kind="city_admin", granted_at=granted)]
        for district in self.districts:
            for kind in ("district_admin", "reviewer"):
                roles.append(
                    AdminRole(
                        user=by_key[f"{kind}:{district}"],
                        kind=kind,
                        district_id=district,
                        organisation=f"{self.district_name[district]}疫情防控指挥部",
                        granted_at=granted,
                    )
                )
        AdminRole.objects.bulk_create(roles)
        self.staff = {key: user.pk for key, user in by_key.items()}
        self.staff_phones = wanted

    # --- residents

    def plan_people(self) -> None:
        from healthcode.accounts.models import User
        from healthcode.lib.masking import mask_id_number

        rng = random.Random(self.seed * 7919 + 1)
        n = self.n
        existing = set(User.objects.values_list("phone", flat=True))
        spare = itertools.count()
        prefixes = len(PHONE_PREFIXES)
        self.phone: list[str] = []
        for i in range(n):
            phone = f"{PHONE_PREFIXES[i % prefixes]}{(i // prefixes) * 7919 % 100_000_000:08d}"
            while phone in existing:  # an account made before: a number of the 197 block
                phone = f"197{next(spare):08d}"
            self.phone.append(phone)

        self.name: list[str] = []
        self.id_number: list[str] = []
        self.masked: list[str] = []
        self.district: list[str] = []
        self.address: list[str] = []
        self.profile = bytearray(n)
        self.declared: list[datetime] = []
        self.region: list[str | None] = [None] * n
        self.arrival: list[date | None] = [None] * n
        self.contact_date: list[date | None] = [None] * n
        self.symptoms: list[tuple[str, ...]] = [()] * n
        self.temperature: list[str] = []
        self.age: list[int] = []
        days, start, now = self.days, self.window_start, self.now
        span = (now - start).total_seconds()
        cum_profile = list(
            itertools.accumulate(
                (SHARE_GUANGXI, SHARE_OUTSIDE, SHARE_HUBEI, SHARE_CONTACT, SHARE_SYMPTOMS)
            )
        )
        age_bands = ((0, 15, 16), (15, 25, 12), (25, 45, 32), (45, 65, 27), (65, 91, 13))
        age_cum = list(itertools.accumulate(w for _a, _b, w in age_bands))
        temps_normal = [f"{36.0 + t / 10:.1f}" for t in range(0, 10)]  # 36.0-36.9
        first_day = 14 * 86400
        random_ = rng.random
        # Locals for the loop over a million residents.
        make_id, today, district_name = self.ids.make, self.today, self.district_name
        district_cum, districts = self.district_cum, self.districts
        district_total = district_cum[-1]
        add_name, add_age, add_number = self.name.append, self.age.append, self.id_number.append
        add_masked, add_district = self.masked.append, self.district.append
        add_address = self.address.append
        n_surnames, n_compound, n_roads = len(SURNAMES), len(COMPOUND_SURNAMES), len(ROADS)
        for i in range(n):
            male = random_() < 0.51
            surname = (
                COMPOUND_SURNAMES[int(random_() * n_compound)]
                if random_() < 0.002
                else SURNAMES[min(int(random_() ** 1.6 * n_surnames), n_surnames - 1)]
            )
            given_chars = GIVEN_MALE if male else GIVEN_FEMALE
            given = given_chars[int(random_() * len(given_chars))]
            if random_() < 0.7:
                given += given_chars[int(random_() * len(given_chars))]
            add_name(surname + given)
            low, high, _w = age_bands[bisect.bisect_right(age_cum, random_() * age_cum[-1])]
            age = low + int(random_() * (high - low))
            add_age(age)
            born = today - timedelta(days=int(age * 365.25 + random_() * 365) + 1)
            number = make_id(rng, "nanning" if random_() < 0.72 else "elsewhere", born, male)
            add_number(number)
            add_masked(mask_id_number(number))
            district = districts[bisect.bisect_right(district_cum, random_() * district_total)]
            add_district(district)
            add_address(
                f"南宁市{district_name[district]}{ROADS[int(random_() * n_roads)]}"
                f"{1 + int(random_() * 399)}号{1 + int(random_() * 30)}栋"
                f"{1 + int(random_() * 4)}单元{1 + int(random_() * 28)}0{1 + int(random_() * 6)}室"
            )
            self.temperature.append(temps_normal[int(random_() * 10)])
            x = random_()
            kind = bisect.bisect_right(cum_profile, x) + 1 if x < cum_profile[-1] else LOCAL
            self.profile[i] = kind
            if kind in (GUANGXI, OUTSIDE, HUBEI):
                # Arrived between ten days before the window and today; declared on arrival.
                arrival_at = start + timedelta(
                    seconds=-10 * 86400 + random_() * (span + 10 * 86400)
                )
                arrival = arrival_at.astimezone(self.tz).date()
                declared = arrival_at + timedelta(hours=1 + random_() * 20)
                regions = self.returns[kind]
                self.region[i] = regions[int(random_() * len(regions))]
                self.arrival[i] = arrival
            elif random_() < 0.85:  # declared when the code was launched, before the window
                declared = start - timedelta(seconds=random_() * first_day)
            else:
                declared = start + timedelta(seconds=random_() * span)
            if declared >= now:
                declared = now - timedelta(seconds=60 + random_() * 3600)
            declared = declared.replace(microsecond=0)
            self.declared.append(declared)
            if kind == CONTACT:
                local_day = declared.astimezone(self.tz).date()
                self.contact_date[i] = local_day - timedelta(days=int(random_() * 8))
            elif kind == SYMPTOMS:
                if random_() < 0.5:
                    self.symptoms[i] = ("fever",) if random_() < 0.7 else ("cough", "fever")
                    self.temperature[i] = f"{37.3 + int(random_() * 14) / 10:.1f}"
                else:
                    self.symptoms[i] = (("cough",), ("fatigue",), ("sore_throat",))[
                        int(random_() * 3)
                    ]
        self.declared_ts = [_ts(moment) for moment in self.declared]
        # Check-in propensity and the first day one can check in (the day after declaring).
        thresholds = []
        for share, p in PROPENSITY:
            thresholds.append((share, min(255, round(p * 256))))
        cum = list(itertools.accumulate(s for s, _t in thresholds))
        self.threshold = bytearray(
            thresholds[min(bisect.bisect_right(cum, random_()), len(thresholds) - 1)][1]
            for _ in range(n)
        )
        self.first = bytearray(n)
        base = self.day_list[0]
        for i, declared in enumerate(self.declared):
            k = (declared.astimezone(self.tz).date() - base).days + 1
            self.first[i] = max(0, min(days, k)) if days < 255 else max(0, k)

    # --- enterprises and staff

    def plan_enterprises(self) -> None:
        rng = random.Random(self.seed * 7919 + 2)
        random_ = rng.random
        n, m = self.n, self.n_ent
        if m > n:
            raise PopulationError("more enterprises than residents: each needs an owner")
        self.ent_name: list[str] = []
        self.ent_credit: list[str] = []
        self.ent_district: list[str] = []
        self.ent_section: list[str] = []
        self.ent_created: list[datetime] = []
        self.ent_decided: list[datetime] = []
        self.ent_address: list[str] = []
        self.ent_scanning = bytearray(m)
        names: set[str] = set()
        start = self.window_start
        for e in range(m):
            district = self.pick_district(rng)
            x = random_() * self.section_cum[-1]
            section = self.sections[bisect.bisect_right(self.section_cum, x)]
            suffixes = INDUSTRY_SUFFIXES.get(section, ("实业",))
            for attempt in range(30):
                core = (
                    ENTERPRISE_CHARS[int(random_() * len(ENTERPRISE_CHARS))]
                    + (ENTERPRISE_CHARS[int(random_() * len(ENTERPRISE_CHARS))])
                )
                city = ENTERPRISE_CITIES[int(random_() * len(ENTERPRISE_CITIES))]
                name = f"{city}{core}{suffixes[int(random_() * len(suffixes))]}有限公司"
                if attempt == 29:
                    name = name.replace("有限公司", f"{self.district_name[district]}分公司")
                if name not in names:
                    break
            names.add(name)
            self.ent_name.append(name)
            region = district if district.isdigit() else "450100"
            self.ent_credit.append(credit_code(e + 1 + self.seed % 1000 * 100_000, region))
            self.ent_district.append(district)
            self.ent_section.append(section)
            created = (start - timedelta(days=15 + random_() * 25)).replace(microsecond=0)
            self.ent_created.append(created)
            self.ent_decided.append(created + timedelta(seconds=int(3600 + random_() * 86400)))
            road = ROADS[int(random_() * len(ROADS))]
            self.ent_address.append(
                f"南宁市{self.district_name[district]}{road}{1 + int(random_() * 399)}号"
            )
            self.ent_scanning[e] = random_() < SHARE_SCANNING_ENTERPRISES
        # Staff: every enterprise gets one employee (its owner), the rest go by heavy-tailed
        # weights; working-age residents first.
        order = [i for i in range(n) if 18 <= self.age[i] <= 64]
        rng.shuffle(order)
        others = [i for i in range(n) if not 18 <= self.age[i] <= 64 and self.age[i] >= 16]
        rng.shuffle(others)
        wanted = max(m, round(SHARE_EMPLOYED * n)) if m else 0  # no enterprise, no staff
        staff = (order + others)[:wanted]
        if len(staff) < m:
            raise PopulationError("not enough adult residents to own the enterprises")
        weights = list(itertools.accumulate(rng.paretovariate(1.3) for _ in range(m)))
        rest = rng.choices(range(m), cum_weights=weights, k=len(staff) - m) if m else []
        self.employer_of = [-1] * n
        self.owner = [0] * m  # person index of each enterprise's owner
        for e, person in enumerate(staff[:m]):
            self.employer_of[person] = e
            self.owner[e] = person
        for person, e in zip(staff[m:], rest, strict=True):
            self.employer_of[person] = e
        self.returned_to_work = bytearray(n)
        self.returned_on: list[date | None] = [None] * n
        self.employee_dept: list[str] = [""] * n
        self.can_scan = bytearray(n)
        self.employer_text: list[str] = [""] * n
        for person in staff:
            e = self.employer_of[person]
            if random_() < 0.9:
                self.returned_to_work[person] = 1
                self.returned_on[person] = self.day_list[0] - timedelta(days=int(random_() * 20))
            self.employee_dept[person] = STAFF_DEPARTMENTS[int(random_() * len(STAFF_DEPARTMENTS))]
            self.can_scan[person] = random_() < 0.02
            if random_() < 0.7:
                self.employer_text[person] = self.ent_name[e]
        for person in self.owner:
            self.can_scan[person] = 1

    # --- risks: which codes are replayed, their check-ins and reviews

    def _minute(self, rng_value: float) -> float:
        """A check-in's minute of the day (local): mostly in the morning, some until 22:00."""
        if rng_value < 0.7:
            return 420 + rng_value / 0.7 * 180  # 07:00-10:00
        return 600 + (rng_value - 0.7) / 0.3 * 720  # 10:00-22:00

    def declaration(self, i: int) -> rules.Declaration:
        """The declaration's facts as codes.services.facts_for builds them from the row."""
        region = self.region[i]
        names = self.region_names.get(region) if region else None
        return rules.Declaration(
            returned_from_elsewhere=region is not None,
            return_region=region,
            return_region_name_zh=names[0] if names else None,
            return_region_name_en=names[1] if names else None,
            arrival_date=self.arrival[i],
            contact_with_case=self.profile[i] == CONTACT,
            contact_date=self.contact_date[i],
            symptoms=frozenset(self.symptoms[i]),
            temperature=float(self.temperature[i]),
            declared_at=self.declared[i],
        )

    def plan_risks(self) -> None:
        rng = random.Random(self.seed * 7919 + 3)
        random_ = rng.random
        n, days = self.n, self.days
        self.special = bytearray(n)  # 1: scanned in at work on workdays; 2: replayed
        for i in range(n):
            e = self.employer_of[i]
            if e >= 0 and self.ent_scanning[e]:
                self.special[i] = 1
        # Fevers and new contacts reported in check-ins.
        can_check_in = [i for i in range(n) if self.first[i] < days]
        person_days = sum(days - self.first[i] for i in can_check_in) * 0.85
        risky: dict[int, dict[int, str]] = {}
        for kind, rate in (("fever", FEVER_PER_CHECKIN), ("contact", NEW_CONTACT_PER_CHECKIN)):
            for _ in range(round(person_days * rate) if can_check_in else 0):
                i = can_check_in[int(random_() * len(can_check_in))]
                k = self.first[i] + int(random_() * (days - self.first[i]))
                risky.setdefault(i, {})[k] = kind
        # Risk-free declarations: one decision per distinct declaration; the rest replayed.
        decide, rule_set, now = rules.decide, self.rule_set, self.now
        self.shape_of: list[_Shape | None] = [None] * n
        shapes: dict[tuple[Any, ...], _Shape | None] = {}
        for i in range(n):
            if self.profile[i] not in (LOCAL, GUANGXI) or i in risky:
                continue
            key = (self.region[i], self.arrival[i], self.temperature[i])
            if key not in shapes:
                decided = decide(rules.Facts(self.declaration(i)), rule_set, now)
                plain = (
                    decided.color == rules.GREEN
                    and decided.next_change_at is None
                    and decided.next_update_at is None
                    and not decided.path_to_green
                )
                shapes[key] = None
                if plain:
                    value = decided.to_json()
                    shapes[key] = _Shape(
                        color=decided.color,
                        reasons=_json(value["reasons"]),
                        path=_json(value["path_to_green"]),
                    )
            self.shape_of[i] = shapes[key]
        self.replayed: dict[int, _Replayed] = {}
        self.to_replay: list[tuple[int, list[_Planned], list[rules.ReviewFact]]] = []
        self.replay_seconds = 0.0
        self.planned_by_day: list[dict[int, _Planned]] = [{} for _ in range(days)]
        self.reviews: list[tuple[int, int, str, str, datetime]] = []  # code, reviewer, ...
        normal = [f"{36.0 + t / 10:.1f}" for t in range(0, 10)]
        for i in range(n):
            if self.shape_of[i] is not None:
                continue
            self.special[i] |= 2
            planned = self._plan_checkins(i, rng, risky.get(i, {}), normal)
            reviews = self._plan_reviews(i, rng, planned)
            self.to_replay.append((i, planned, reviews))
            for p in planned:
                self.planned_by_day[p.day_index][i] = p
            reviewer = self.staff[f"reviewer:{self.district[i]}"]
            for review in reviews:
                self.reviews.append((i, reviewer, review.outcome, review.note, review.decided_at))
        self.counts["shapes"] = sum(1 for s in shapes.values() if s is not None)

    def replay(self, limit: int | None = None) -> None:
        """Replay (up to `limit` of) the codes still waiting for it. The check-ins' COPY calls
        this between its days: the server parses the queued blocks meanwhile."""
        started = time.perf_counter()
        todo = self.to_replay
        stop = len(todo) if limit is None else max(0, len(todo) - limit)
        while len(todo) > stop:
            i, planned, reviews = todo.pop()
            self.replayed[i] = self._replay(i, planned, reviews)
        self.replay_seconds += time.perf_counter() - started

    def _plan_checkins(
        self, i: int, rng: random.Random, risky: dict[int, str], normal: list[str]
    ) -> list[_Planned]:
        random_ = rng.random
        p_check = self.threshold[i] / 256
        scanned = self.special[i] & 1
        planned = []
        for k in range(self.first[i], self.days):
            kind = risky.get(k)
            if kind is None and random_() >= p_check:
                continue
            day = self.day_list[k]
            scan = bool(scanned and day.weekday() < 5)
            minute = 450 + random_() * 120 if scan else self._minute(random_())
            at = self._local(day, minute).replace(microsecond=0, second=int(random_() * 60))
            if at > self.now:
                continue
            temperature, symptoms, contact = normal[int(random_() * len(normal))], (), False
            if kind == "fever":
                temperature = f"{37.3 + int(random_() * 16) / 10:.1f}"
                symptoms = ("fever",) if random_() < 0.6 else ("cough", "fever")
            elif kind == "contact":
                contact = True
            planned.append(_Planned(k, at, temperature, symptoms, contact, scan))
        return planned

    def _plan_reviews(
        self, i: int, rng: random.Random, planned: list[_Planned]
    ) -> list[rules.ReviewFact]:
        """Reviewers approve most declared risks within two days (some after a refusal), and
        most risks reported in check-ins within a day and a half."""
        random_ = rng.random
        hours = timedelta(hours=1)
        found: list[tuple[datetime, str]] = []
        if self.profile[i] not in (LOCAL, GUANGXI):
            declared, x = self.declared[i], random_()
            if x < 0.80:
                found.append((declared + (2 + random_() * 46) * hours, rules.APPROVE))
            elif x < 0.85:
                refused = declared + (2 + random_() * 22) * hours
                found.append((refused, rules.REFUSE))
                found.append((refused + (24 + random_() * 48) * hours, rules.APPROVE))
            elif x < 0.88:
                found.append((declared + (2 + random_() * 22) * hours, rules.REFUSE))
        for p in planned:
            if (p.symptoms or p.new_contact) and random_() < 0.7:
                found.append((p.at + (4 + random_() * 32) * hours, rules.APPROVE))
        return [
            rules.ReviewFact(
                outcome=outcome,
                decided_at=at.replace(microsecond=0),
                note=REVIEW_NOTES[int(random_() * len(REVIEW_NOTES))],
            )
            for at, outcome in sorted(found)
            if at <= self.now
        ]

    def _replay(
        self, i: int, planned: list[_Planned], reviews: list[rules.ReviewFact]
    ) -> _Replayed:
        """The code's events in time order through the rules engine, with the sweep's
        time-based re-derivations between them, as the services would have stored them."""
        decide, rule_set, now = rules.decide, self.rule_set, self.now
        declaration = self.declaration(i)
        events: list[tuple[datetime, int, Any]] = [(p.at, 1, p) for p in planned]
        events += [(r.decided_at, 2, r) for r in reviews]
        events.sort(key=lambda e: (e[0], e[1]))
        checkins: list[rules.CheckInFact] = []
        decided_reviews: list[rules.ReviewFact] = []
        changes: list[tuple[datetime, str, str, str, str]] = []
        state: dict[str, Any] = {
            "color": "",
            "rules": None,
            "since": declaration.declared_at,
            "at": declaration.declared_at,
        }

        def step(at: datetime, cause: str) -> datetime | None:
            facts = rules.Facts(declaration, tuple(checkins), tuple(decided_reviews))
            decided = decide(facts, rule_set, at)
            state["at"] = at
            rule_ids = [r.rule for r in decided.reasons]
            if decided.color != state["color"] or rule_ids != state["rules"]:
                reasons = [r.to_json() for r in decided.reasons]
                changes.append((at, state["color"], decided.color, _json(reasons), cause))
                if decided.color != state["color"]:
                    state["since"] = at
                state["color"], state["rules"] = decided.color, rule_ids
            return decided.next_update_at or decided.next_change_at

        def sweep_until(due: datetime | None, limit: datetime, inclusive: bool) -> datetime | None:
            while due is not None and (due < limit or (inclusive and due == limit)):
                following = step(due, "sweep")
                if following is not None and following <= due:
                    break  # no progress (should not happen): leave it to the final decision
                due = following
            return due

        # A clean check-in (no fever, symptom or contact) only counts towards clearing a risk.
        # It changes nothing while the code is green with nothing pending (every risk is
        # cleared), nor, when every risk needs a review, while no approval has followed the
        # latest risk event: those check-ins need no decision. Otherwise, in a run of clean
        # check-ins before the next time-based change, only the one that completes a count
        # changes the decision (and every later one keeps it changed): it is found by
        # bisection, not by a decision per check-in.
        symptom_rule = rule_set.symptoms
        review_gated = {rules.YELLOW, rules.RED} <= set(rule_set.review_colors)

        def fact_of(item: _Planned) -> rules.CheckInFact:
            return rules.CheckInFact(
                day=self.day_list[item.day_index],
                temperature=float(item.temperature),
                symptoms=frozenset(item.symptoms),
                in_nanning=True,
                new_contact=item.new_contact,
                at=item.at,
            )

        def risky(fact: rules.CheckInFact) -> bool:
            return (
                fact.new_contact
                or fact.temperature >= symptom_rule.fever_threshold
                or bool(fact.symptoms & symptom_rule.symptoms)
            )

        facts_of = [fact_of(item) if kind == 1 else None for _at, kind, item in events]
        approved = False
        due = step(declaration.declared_at, "declaration")
        index = 0
        while index < len(events):
            at, kind, item = events[index]
            due = sweep_until(due, at, inclusive=False)
            if kind == 2:
                decided_reviews.append(item)
                approved = item.outcome == rules.APPROVE
                due = step(at, "review")
                index += 1
                continue
            fact = facts_of[index]
            assert fact is not None
            if risky(fact):
                approved = False
                checkins.append(fact)
                due = step(at, "checkin")
                item.color_after = state["color"]
                index += 1
                continue
            quiet = (state["color"] == rules.GREEN and due is None) or (
                review_gated and not approved
            )
            if quiet:
                checkins.append(fact)
                item.color_after = state["color"]
                index += 1
                continue
            # A run of clean check-ins before the next review, risk or time-based change.
            end = index
            while (
                end < len(events)
                and events[end][1] == 1
                and not risky(facts_of[end])  # type: ignore[arg-type]
                and (due is None or events[end][0] < due)
            ):
                end += 1
            before = (state["color"], state["rules"], due)

            def changes_at(j: int, first: int = index, before: tuple[Any, ...] = before) -> bool:
                facts = rules.Facts(
                    declaration,
                    tuple(checkins) + tuple(facts_of[first : j + 1]),  # type: ignore[arg-type]
                    tuple(decided_reviews),
                )
                decided = decide(facts, rule_set, events[j][0])
                after = (
                    decided.color,
                    [r.rule for r in decided.reasons],
                    decided.next_update_at or decided.next_change_at,
                )
                return after != before

            low, high = index, end  # the first changing check-in is in [low, high)
            if not changes_at(end - 1):
                low = end
            else:
                high = end - 1
                while low < high:
                    middle = (low + high) // 2
                    if changes_at(middle):
                        high = middle
                    else:
                        low = middle + 1
            for j in range(index, low):  # unchanged
                checkins.append(facts_of[j])  # type: ignore[arg-type]
                events[j][2].color_after = state["color"]
            index = low
            if low < end:  # the check-in that changes the decision, stored as usual
                checkins.append(facts_of[low])  # type: ignore[arg-type]
                due = step(events[low][0], "checkin")
                events[low][2].color_after = state["color"]
                index = low + 1
        sweep_until(due, now, inclusive=True)
        final = decide(
            rules.Facts(declaration, tuple(checkins), tuple(decided_reviews)), rule_set, now
        )
        if final.color != state["color"]:  # a change no step caught: recorded now
            reasons = [r.to_json() for r in final.reasons]
            changes.append((now, state["color"], final.color, _json(reasons), "sweep"))
            state["since"] = state["at"] = now
        return _Replayed(final, changes, state["since"], state["at"])

    # --- the rows, as COPY text blocks of (text, rows)

    def allocate_ids(self) -> None:
        """The first id of each table (after any rows already there, e.g. accounts)."""
        from django.db.models import Max

        self.base = {}
        for key in TABLES:
            top = _model(key).objects.aggregate(top=Max("pk"))["top"] or 0
            self.base[key] = top + 1
        self.employee_id = [0] * self.n
        next_id = self.base["employee"]
        for i in range(self.n):
            if self.employer_of[i] >= 0:
                self.employee_id[i] = next_id
                next_id += 1

    def user_blocks(self) -> Iterator[tuple[str, int]]:
        base, rng = self.base["user"], random.Random(self.seed * 7919 + 4)
        lines: list[str] = []
        for i in range(self.n):
            joined = _ts(self.declared[i] - timedelta(seconds=60 + int(rng.random() * 1800)))
            lines.append(f"{base + i}\t!\t\\N\tf\t{self.phone[i]}\tt\tf\t{joined}\n")
            if len(lines) == BLOCK_ROWS:
                yield "".join(lines), len(lines)
                lines = []
        if lines:
            yield "".join(lines), len(lines)

    def _time_tables(self, k: int) -> tuple[list[str | None], list[str | None]]:
        """Check-in times of day k by random slot (0-255): a self check-in's, a scan's (07:30 to
        09:30); None where the time is after now."""
        day = self.day_list[k]
        own, scan = [], []
        for slot in range(256):
            for table, minute in (
                (own, self._minute((slot + 0.5) / 256)),
                (scan, 450 + (slot + 0.5) / 256 * 120),
            ):
                at = self._local(day, minute).replace(microsecond=0)
                table.append(_ts(at) if at <= self.now else None)
        return own, scan

    def checkin_blocks(self) -> Iterator[tuple[str, int]]:
        """The check-ins, day by day (as they arrive), and on the side the attendance and scan
        rows of the check-ins scanned at work."""
        rng = random.Random(self.seed * 7919 + 5)
        n, days = self.n, self.days
        code_base, user_base = self.base["code"], self.base["user"]
        ent_base = self.base["enterprise"]
        next_checkin = self.base["checkin"]
        attendance: list[str] = []
        scans: list[str] = []
        colored: list[tuple[int, _Planned | None]] = []  # attendance (and scan) to colour in
        next_attendance, next_scan = self.base["attendance"], self.base["scan"]
        self.last_checkin = [-1] * n  # (day << 9) | slot (+256 for a scan), for updated_at
        last = self.last_checkin
        self.times: list[tuple[list[str | None], list[str | None]]] = []
        weights = [math.exp(-((36.0 + t / 10 - 36.5) ** 2) / 0.18) for t in range(12)]
        temps = random.Random(self.seed).choices(
            [f"{36.0 + t / 10:.1f}" for t in range(12)], weights=weights, k=256
        )
        threshold, first, special = self.threshold, self.first, self.special
        lines: list[str] = []
        append = lines.append
        for k, day in enumerate(self.day_list):
            own, scan_times = self._time_tables(k)
            self.times.append((own, scan_times))
            day_s = day.isoformat()
            workday = day.weekday() < 5
            planned = self.planned_by_day[k]
            draws = zip(
                range(n),
                rng.randbytes(n),
                rng.randbytes(n),
                rng.randbytes(n),
                threshold,
                first,
                special,
                strict=True,
            )
            for i, chance, slot, temp, limit, first_day, sp in draws:
                if sp:
                    if sp & 2:  # replayed: its planned check-ins
                        p = planned.get(i)
                        if p is None:
                            continue
                        at = _ts(p.at)
                        temperature, symptoms = p.temperature, _symptoms_json(p.symptoms)
                        scanned = p.scan
                        contact = "t" if p.new_contact else "f"
                    elif workday and chance < limit and first_day <= k:
                        at = scan_times[slot]
                        if at is None:
                            continue
                        temperature, symptoms, scanned, contact = temps[temp], "[]", True, "f"
                        p = None
                        last[i] = (k << 9) | 256 | slot
                    elif chance < limit and first_day <= k and own[slot] is not None:
                        at = own[slot]
                        append(
                            f"{next_checkin}\t{code_base + i}\t{day_s}\t{temps[temp]}\t[]\tt\tf"
                            f"\tself\t\\N\t1\t{at}\t{at}\n"
                        )
                        last[i] = (k << 9) | slot
                        next_checkin += 1
                        continue
                    else:
                        continue
                    if scanned:
                        e = self.employer_of[i]
                        scanner = user_base + self.owner[e]
                        append(
                            f"{next_checkin}\t{code_base + i}\t{day_s}\t{temperature}\t{symptoms}"
                            f"\tt\t{contact}\tenterprise_scan\t{scanner}\t1\t{at}\t{at}\n"
                        )
                        # Scanned: the attendance and the scan carry the colour after the
                        # check-in, known once the code is replayed (for a replayed code).
                        attendance.append(
                            f"{next_attendance}\t{ent_base + e}\t{self.employee_id[i]}"
                            f"\t{code_base + i}\t{scanner}\t{at}\t{day_s}\t{{color}}\t{{verdict}}"
                            f"\t{temperature}\t{symptoms}\t{next_checkin}\n"
                        )
                        scans.append(
                            f"{next_scan}\t{scanner}\t{code_base + i}\t{at}\tvalid\t{{color}}"
                            f"\t10.45.{e >> 8 & 255}.{e & 255}\n"
                        )
                        colored.append((len(attendance) - 1, p if sp & 2 else None))
                        next_attendance += 1
                        next_scan += 1
                    else:
                        append(
                            f"{next_checkin}\t{code_base + i}\t{day_s}\t{temperature}\t{symptoms}"
                            f"\tt\t{contact}\tself\t\\N\t1\t{at}\t{at}\n"
                        )
                    next_checkin += 1
                    continue
                if chance >= limit or first_day > k:
                    continue
                at = own[slot]
                if at is None:
                    continue
                append(
                    f"{next_checkin}\t{code_base + i}\t{day_s}\t{temps[temp]}\t[]\tt\tf\tself"
                    f"\t\\N\t1\t{at}\t{at}\n"
                )
                last[i] = (k << 9) | slot
                next_checkin += 1
                if len(lines) >= BLOCK_ROWS:
                    yield "".join(lines), len(lines)
                    lines.clear()
            if lines:
                yield "".join(lines), len(lines)
                lines.clear()
            # A share of the replays while the server parses this day's blocks.
            self.replay(len(self.to_replay) // (days - k))
        self.replay()
        for position, planned_checkin in colored:
            color = planned_checkin.color_after if planned_checkin is not None else "green"
            verdict = "may_work" if color == "green" else "may_not_work"
            attendance[position] = attendance[position].format(color=color, verdict=verdict)
            scans[position] = scans[position].format(color=color)
        self.attendance_lines = attendance
        self.scan_lines = scans

    @staticmethod
    def _lines(lines: list[str]) -> Iterator[tuple[str, int]]:
        for start in range(0, len(lines), BLOCK_ROWS):
            chunk = lines[start : start + BLOCK_ROWS]
            yield "".join(chunk), len(chunk)

    def _updated_at(self, i: int) -> str:
        encoded = self.last_checkin[i]
        if encoded < 0:
            return self.declared_ts[i]
        own, scan = self.times[encoded >> 9]
        slot = encoded & 511
        return (scan[slot - 256] if slot >= 256 else own[slot]) or self.declared_ts[i]

    def code_blocks(self) -> Iterator[tuple[str, int]]:
        """The codes (ID numbers encrypted, blind index, mask) with their stored decisions."""
        from healthcode.codes.services import ID_NUMBER_CONTEXT
        from healthcode.lib.crypto import blind_indexer, field_encrypter

        encrypt = field_encrypter(context=ID_NUMBER_CONTEXT)
        index = blind_indexer(purpose="id_number")
        rng = random.Random(self.seed * 7919 + 6)
        code_base, user_base = self.base["code"], self.base["user"]
        rule_set_id, version = _copy_text(self.rule_set.id), self.rule_set.version
        colors = dict.fromkeys(rules.COLORS, 0)
        lines: list[str] = []
        uuids: list[str] = []
        for i in range(self.n):
            declared = self.declared_ts[i]
            shape = self.shape_of[i]
            if shape is not None:
                color, reasons, path = shape.color, shape.reasons, shape.path
                next_change_at, since, updated = "\\N", declared, self._updated_at(i)
            else:
                replayed = self.replayed[i]
                decided = replayed.decision
                value = decided.to_json()
                color = decided.color
                reasons, path = _json(value["reasons"]), _json(value["path_to_green"])
                next_change_at = _ts(decided.next_update_at or decided.next_change_at)
                since, updated = _ts(replayed.color_since), _ts(replayed.updated_at)
            colors[color] += 1
            if not uuids:  # random version-4 UUIDs, a block at a time
                hexes = rng.randbytes(16 * BLOCK_ROWS).hex()
                uuids = [
                    f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[int(x[16], 16) & 3]}{x[17:20]}-{x[20:]}"
                    for x in (hexes[k : k + 32] for k in range(0, len(hexes), 32))
                ]
            number = self.id_number[i]
            region, arrival, contact = self.region[i], self.arrival[i], self.contact_date[i]
            lines.append(
                f"{code_base + i}\t{uuids.pop()}"
                f"\t{user_base + i}\tself\t{self.name[i]}\t{encrypt(number)}\t{index(number)}"
                f"\t{self.masked[i]}\t{self.phone[i]}\t{self.address[i]}\t{self.district[i]}"
                f"\t{'t' if self.returned_to_work[i] else 'f'}\t{self.employer_text[i]}"
                f"\t{'f' if region is None else 't'}\t{region or chr(92) + 'N'}\t{_day(arrival)}"
                f"\t{'t' if self.profile[i] == CONTACT else 'f'}\t{_day(contact)}"
                f"\t{_symptoms_json(self.symptoms[i])}\t{self.temperature[i]}\t{declared}"
                f"\t{color}\t{reasons}\t{path}\t{rule_set_id}\t{version}\t{next_change_at}"
                f"\t{since}\t{declared}\t{updated}\n"
            )
            if len(lines) == BLOCK_ROWS:
                yield "".join(lines), len(lines)
                lines = []
        if lines:
            yield "".join(lines), len(lines)
        self.counts.update(colors)

    def change_blocks(self) -> Iterator[tuple[str, int]]:
        """The colour history: a risk-free code's first colour; a replayed code's changes."""
        code_base, next_change = self.base["code"], self.base["change"]
        rule_set_id, version = _copy_text(self.rule_set.id), self.rule_set.version
        lines: list[str] = []
        for i in range(self.n):
            code_id = code_base + i
            shape = self.shape_of[i]
            if shape is not None:
                lines.append(
                    f"{next_change}\t{code_id}\t{self.declared_ts[i]}\t\t{shape.color}"
                    f"\t{shape.reasons}\t{rule_set_id}\t{version}\tdeclaration\n"
                )
                next_change += 1
            else:
                for at, color_from, color_to, reasons, cause in self.replayed[i].changes:
                    lines.append(
                        f"{next_change}\t{code_id}\t{_ts(at)}\t{color_from}\t{color_to}"
                        f"\t{reasons}\t{rule_set_id}\t{version}\t{cause}\n"
                    )
                    next_change += 1
            if len(lines) >= BLOCK_ROWS:
                yield "".join(lines), len(lines)
                lines = []
        if lines:
            yield "".join(lines), len(lines)

    def review_blocks(self) -> Iterator[tuple[str, int]]:
        code_base, review_id = self.base["code"], self.base["review"]
        lines = []
        for n, (i, reviewer, outcome, note, at) in enumerate(self.reviews):
            lines.append(
                f"{review_id + n}\t{code_base + i}\t{reviewer}\t{outcome}\t{note}\t{_ts(at)}\n"
            )
        return self._lines(lines)

    def enterprise_blocks(self) -> Iterator[tuple[str, int]]:
        base, user_base = self.base["enterprise"], self.base["user"]
        lines = []
        for e in range(self.n_ent):
            owner = self.owner[e]
            district = self.ent_district[e]
            section = self.ent_section[e]
            lines.append(
                f"{base + e}\t{self.ent_name[e]}\t{self.ent_credit[e]}\t{district}\t{section}"
                f"\t{self.department_of[section]}\t{self.ent_address[e]}\t{self.name[owner]}"
                f"\t{self.phone[owner]}\tapproved\t{user_base + owner}"
                f"\t{self.staff[f'district_admin:{district}']}\t{_ts(self.ent_decided[e])}"
                f"\t\t{_ts(self.ent_created[e])}\n"
            )
        return self._lines(lines)

    def manager_blocks(self) -> Iterator[tuple[str, int]]:
        base, ent_base, user_base = self.base["manager"], self.base["enterprise"], self.base["user"]
        lines = [
            f"{base + e}\t{ent_base + e}\t{user_base + owner}\towner\t{_ts(self.ent_created[e])}\n"
            for e, owner in enumerate(self.owner)
        ]
        return self._lines(lines)

    def employee_blocks(self) -> Iterator[tuple[str, int]]:
        ent_base, code_base = self.base["enterprise"], self.base["code"]
        rng = random.Random(self.seed * 7919 + 7)
        lines: list[str] = []
        for i in range(self.n):
            e = self.employer_of[i]
            if e < 0:
                continue
            added = self.ent_decided[e] + timedelta(seconds=int(rng.random() * 5 * 86400))
            lines.append(
                f"{self.employee_id[i]}\t{ent_base + e}\t{self.name[i]}\t{self.phone[i]}"
                f"\t{code_base + i}\t{self.employee_dept[i]}"
                f"\t{'t' if self.returned_to_work[i] else 'f'}\t{_day(self.returned_on[i])}"
                f"\t{'t' if self.can_scan[i] else 'f'}\tt\t{_ts(min(added, self.now))}\t\\N\n"
            )
            if len(lines) == BLOCK_ROWS:
                yield "".join(lines), len(lines)
                lines = []
        if lines:
            yield "".join(lines), len(lines)


# --- Writing -----------------------------------------------------------------------------------------


class _PostgresWriter:
    """COPY … FROM STDIN of the text blocks, on the connection's current transaction."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.raw = connection.connection

    def write(self, key: str, blocks: Iterable[tuple[str, int]]) -> int:
        from psycopg.copy import QueuedLibpqWriter

        model = _model(key)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(c) for c, _kind in TABLES[key][1])
        rows = 0
        with self.raw.cursor() as cursor:
            sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
            # A writer thread feeds the connection while this one formats the next block: the
            # server parses one block as the next one is built.
            with cursor.copy(sql, writer=QueuedLibpqWriter(cursor)) as copy:
                for text, n in blocks:
                    copy.write(text)
                    rows += n
        return rows


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out, chars = [], iter(value)
    for c in chars:
        if c == "\\":
            c = next(chars)
            c = {"t": "\t", "n": "\n", "r": "\r"}.get(c, c)
        out.append(c)
    return "".join(out)


class _SqliteWriter:
    """The same rows by executemany, typed as Django stores them in SQLite."""

    def write(self, key: str, blocks: Iterable[tuple[str, int]]) -> int:
        model = _model(key)
        spec = TABLES[key][1]
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(c) for c, _kind in spec)}) VALUES ({', '.join('%s' for _ in spec)})"
        )
        convert = [self._converter(kind) for _c, kind in spec]
        rows = 0
        with connection.cursor() as cursor:
            for text, n in blocks:
                batch = []
                for line in text.splitlines():
                    values = line.split("\t")
                    batch.append(
                        tuple(
                            None if v == "\\N" else f(v)
                            for f, v in zip(convert, values, strict=True)
                        )
                    )
                cursor.executemany(sql, batch)
                rows += n
        return rows

    @staticmethod
    def _converter(kind: str) -> Callable[[str], Any]:
        if kind == "i":
            return int
        if kind == "b":
            return lambda v: v == "t"
        if kind == "ts":  # "YYYY-MM-DD HH:MM:SS+00:00" (UTC) -> Django's naive UTC text
            return lambda v: v.removesuffix("+00:00")
        if kind == "u":
            return lambda v: v.replace("-", "")
        return _unescape


@contextmanager
def _secondary_indexes_deferred(tables: list[str], report: dict[str, float]) -> Iterator[None]:
    """PostgreSQL: drop the tables' secondary indexes and their unique and foreign-key
    constraints (not primary keys, nor unique constraints a foreign key relies on), and
    recreate them on the way out, in the same transaction: the rows then cost no per-row
    index insert or constraint check, the indexes are built sorted and every foreign key is
    validated by one query. On error the transaction is rolled back, constraints included."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c WHERE c.conrelid = ANY(%s::regclass[])"
            " AND c.contype IN ('f', 'u') AND c.conparentid = 0"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f'"
            "   AND f.conindid = c.conindid AND c.contype = 'u')"
            " ORDER BY c.contype DESC, c.conname",
            [tables],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " ORDER BY 1",
            [tables],
        )
        indexes = cursor.fetchall()
        started = time.perf_counter()
        for table, name, _kind, _definition in constraints:  # foreign keys first
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        report["drop_s"] = time.perf_counter() - started
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        started = time.perf_counter()
        for _name, definition in indexes:
            # A partitioned table's index is defined ON ONLY the parent: build it on every
            # partition too.
            cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
        for table, name, kind, definition in reversed(constraints):  # unique ones first
            if kind == "u":
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
        report["indexes_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for table, name, kind, definition in constraints:
            if kind == "f":
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
        report["foreign_keys_s"] = time.perf_counter() - started
    report["indexes"] = len(indexes)
    report["constraints"] = len(constraints)


# --- The entry point ------------------------------------------------------------------------------


def generate(
    *,
    residents: int = 1_000_000,
    enterprises: int = 50_000,
    days: int = 30,
    seed: int = 20200221,
    now: datetime | None = None,
    progress: Progress | None = None,
    defer_indexes: bool = True,
) -> dict[str, Any]:
    """Generate and store the population (see the module docstring). Returns the figures:
    rows, seconds and rows/s per table, the phases' seconds, the codes by colour and the
    phones of the staff accounts made (a city admin, district admins and reviewers).

    `defer_indexes` (PostgreSQL) drops and rebuilds the secondary indexes and constraints
    around the load; False loads into the indexed tables (for comparison)."""
    with _collector_paused():
        return _generate(
            residents=residents,
            enterprises=enterprises,
            days=days,
            seed=seed,
            now=now,
            progress=progress,
            defer_indexes=defer_indexes,
        )


def _generate(
    *,
    residents: int,
    enterprises: int,
    days: int,
    seed: int,
    now: datetime | None,
    progress: Progress | None,
    defer_indexes: bool,
) -> dict[str, Any]:
    from django.core.management.color import no_style

    from healthcode.checkins.models import CheckIn
    from healthcode.codes.models import HealthCode
    from healthcode.enterprises.models import Enterprise

    if residents < 1 or enterprises < 0 or not 1 <= days <= 254:
        raise PopulationError("need residents >= 1, enterprises >= 0 and 1 <= days <= 254")
    now = (now or timezone.now()).astimezone(UTC).replace(microsecond=0)
    say = progress or (lambda message: None)
    _check_columns()
    for model in (HealthCode, CheckIn, Enterprise):
        if model.objects.exists():
            raise PopulationError(
                f"{model._meta.db_table} is not empty: generate into an empty database"
            )
    postgres = connection.vendor == "postgresql"
    started = time.perf_counter()
    phases: dict[str, float] = {}
    tables: dict[str, dict[str, float]] = {}

    def phase(name: str, since: float) -> float:
        phases[name] = time.perf_counter() - since
        return time.perf_counter()

    with transaction.atomic():
        if postgres:
            from healthcode.lib import partitions

            # Monthly partitions for the months the rows fall in (else they'd go to DEFAULT).
            today = now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
            first = today - timedelta(days=days - 1)
            back = (today.year - first.year) * 12 + today.month - first.month
            partitions.ensure_partitions(months_ahead=3, months_back=max(1, back), today=today)
        population = _Population(
            residents=residents, enterprises=enterprises, days=days, seed=seed, now=now
        )
        t = time.perf_counter()
        population.load_reference()
        population.staff_accounts()
        population.plan_people()
        t = phase("plan_people_s", t)
        population.plan_enterprises()
        t = phase("plan_enterprises_s", t)
        population.plan_risks()
        t = phase("plan_risks_s", t)
        say(
            f"planned {residents:,} residents, {enterprises:,} enterprises, {days} days "
            f"({len(population.to_replay):,} codes to replay event by event, "
            f"{population.counts['shapes']} risk-free declarations decided once) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        population.allocate_ids()
        writer = _PostgresWriter() if postgres else _SqliteWriter()
        names = [_model(key)._meta.db_table for key in TABLES]
        index_report: dict[str, float] = {}

        def load(key: str, blocks: Iterable[tuple[str, int]]) -> None:
            begun = time.perf_counter()
            building = [0.0]
            rows = writer.write(key, _timed(blocks, building))
            seconds = time.perf_counter() - begun
            tables[_model(key)._meta.db_table] = {
                "rows": rows,
                "seconds": round(seconds, 3),
                "rows_per_s": round(rows / seconds) if seconds else 0,
                # Building the text here (while the server parses what was sent).
                "build_s": round(building[0], 3),
            }
            say(f"{_model(key)._meta.db_table}: {rows:,} rows in {seconds:.1f} s")

        deferred = (
            _secondary_indexes_deferred(names, index_report)
            if postgres and defer_indexes
            else _nothing()
        )
        load_started = time.perf_counter()
        with deferred:
            load("user", population.user_blocks())
            load("checkin", population.checkin_blocks())
            load("attendance", population._lines(population.attendance_lines))
            load("scan", population._lines(population.scan_lines))
            load("code", population.code_blocks())
            load("change", population.change_blocks())
            load("review", population.review_blocks())
            load("enterprise", population.enterprise_blocks())
            load("manager", population.manager_blocks())
            load("employee", population.employee_blocks())
            phases["copy_s"] = time.perf_counter() - load_started
            # Inside the check-ins' COPY, overlapping the server's work.
            phases["replay_s"] = population.replay_seconds
            if postgres and defer_indexes:
                say("rebuilding indexes and constraints")
        t = time.perf_counter()
        phases.update({k: v for k, v in index_report.items() if k.endswith("_s")})
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(
                no_style(), [_model(key) for key in TABLES]
            ):
                cursor.execute(sql)
        t = phase("sequences_s", t)
    t = time.perf_counter()
    with connection.cursor() as cursor:
        if postgres:
            for name in names:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
        else:
            cursor.execute("ANALYZE")
    phase("analyze_s", t)
    seconds = time.perf_counter() - started
    rows = sum(int(t["rows"]) for t in tables.values())
    say(f"{rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    counts = population.counts
    return {
        "database": connection.vendor,
        "residents": residents,
        "enterprises": enterprises,
        "days": days,
        "seed": seed,
        "now": now.isoformat(),
        "rule_set": f"{population.rule_set.id}@{population.rule_set.version}",
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "tables": tables,
        "phases": {k: round(v, 3) for k, v in phases.items()},
        "indexes_deferred": bool(postgres and defer_indexes),
        "indexes_rebuilt": int(index_report.get("indexes", 0)),
        "constraints_rebuilt": int(index_report.get("constraints", 0)),
        "colors": {c: counts.get(c, 0) for c in rules.COLORS},
        "replayed_codes": len(population.replayed),
        "reviews": len(population.reviews),
        "staff_phones": population.staff_phones,
    }


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _timed(blocks: Iterable[tuple[str, int]], spent: list[float]) -> Iterator[tuple[str, int]]:
    """The blocks, adding the time taken to build each to spent[0]."""
    iterator = iter(blocks)
    while True:
        started = time.perf_counter()
        try:
            block = next(iterator)
        except StopIteration:
            spent[0] += time.perf_counter() - started
            return
        spent[0] += time.perf_counter() - started
        yield block


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off: it would walk the tens of millions of objects of a
    large plan again and again for nothing (the plan holds no cycles); back on after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
