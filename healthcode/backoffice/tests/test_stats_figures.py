"""The statistics dashboard's figures (healthcode.backoffice.statistics through the
/api/v1/admin/stats/... calls): they match a seeded population, stay inside each authority's
scope, cost the same number of queries for 5 and for 50 codes, and refuse bad parameters.

The population (`seed()`), all codes declared through the declaration service:

| code | district | colour | employed at |
| --- | --- | --- | --- |
| g1 g2 g3 | 450103 | green | g1: E1 (C) and E2 (F); g2: E1 |
| y1 y2 | 450103 | yellow | y1: E1 |
| r1 | 450103 | red | r1: E3 (pending, does not count) |
| g4 g5 | 450102 | green | g4: E2 |
| r2 | 450102 | red | r2: E1 |
| y3 | 450107 | yellow | y3: E4, no longer (inactive) |

Enterprises: E1 450103 C (工信局) approved, reported today; E2 450102 F (商务局) approved, not
reported; E3 450103 C pending; E4 450107 C approved, not reported; E5 450102 F approved,
reported. History: every code but y3 was declared 10 days ago (y3 today); r2 was green until
yesterday; g3 turned yellow 3 days ago and green again 2 days ago; y1's reasons changed
yesterday (no colour change). Check-ins: g1, g2, y1 today; g1, g4 yesterday.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from healthcode.backoffice.models import AdminRole
from healthcode.checkins.models import CheckIn
from healthcode.codes import services as code_services
from healthcode.codes.models import ColorChange, HealthCode
from healthcode.enterprises.models import DailyReport, Employee, Enterprise
from healthcode.testing import AdminApiClient, credit_code, declaration, id_number, make_user

STATS = "/admin/stats"
ENDPOINTS = [
    f"{STATS}/colour-by-district",
    f"{STATS}/colour-by-industry",
    f"{STATS}/trend?days=5",
    f"{STATS}/checkins?days=3",
    f"{STATS}/reports",
]


# --- Population ----------------------------------------------------------------------------------


def _facts(color: str) -> dict[str, Any]:
    arrival = (timezone.localdate() - timedelta(days=2)).isoformat()
    if color == "yellow":  # back from Shenzhen (outside Guangxi)
        return {"returned_from_elsewhere": True, "return_region": "440300", "arrival_date": arrival}
    if color == "red":  # back from Hubei
        return {"returned_from_elsewhere": True, "return_region": "420000", "arrival_date": arrival}
    return {}


def make_codes(specs: list[tuple[str, str]], *, first_seq: int = 500) -> list[HealthCode]:
    """Declare one code per (district, colour), each on its own account."""
    codes = []
    for i, (district, color) in enumerate(specs):
        seq = first_seq + i
        user = make_user(f"139{seq:08d}")
        code = code_services.declare(
            account=user,
            data=declaration(
                name="测试" + "".join("零一二三四五六七八九"[int(d)] for d in str(seq)),
                id_number=id_number(seq=seq % 1000),
                district=district,
                **_facts(color),
            ),
        )
        assert code.color == color
        codes.append(code)
    return codes


def noon(days_ago: int) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())


def enterprise(name: str, seq: int, district: str, industry: str, department: str, status: str):
    return Enterprise.objects.create(
        name=name,
        credit_code=credit_code(900 + seq),
        district_id=district,
        industry=industry,
        department=department,
        address="南宁市某路 1 号",
        contact_name="联系人",
        contact_phone="13900000000",
        status=status,
    )


def employ(where: Enterprise, code: HealthCode, *, active: bool = True) -> None:
    Employee.objects.create(
        enterprise=where, name=code.name, phone=code.phone, code=code, active=active
    )


def seed() -> dict[str, Any]:
    """The population of the module docstring; returns codes and enterprises by name."""
    names = ["g1", "g2", "g3", "y1", "y2", "r1", "g4", "g5", "r2", "y3"]
    specs = [("450103", "green")] * 3 + [("450103", "yellow")] * 2 + [("450103", "red")]
    specs += [("450102", "green")] * 2 + [("450102", "red"), ("450107", "yellow")]
    codes = dict(zip(names, make_codes(specs), strict=True))

    # History: declared 10 days ago (y3 today, as declared); the changes since.
    ten_days_ago = timezone.now() - timedelta(days=10)
    earlier = [codes[n].pk for n in names if n != "y3"]
    HealthCode.objects.filter(pk__in=earlier).update(created_at=ten_days_ago)
    ColorChange.objects.filter(code_id__in=earlier).update(at=ten_days_ago)
    ColorChange.objects.filter(code=codes["r2"]).update(color_to="green")

    def change(name: str, old: str, new: str, at: datetime) -> None:
        ColorChange.objects.create(
            code=codes[name], at=at, color_from=old, color_to=new,
            rule_set_id="test", rule_set_version=1, cause="review",
        )  # fmt: skip

    change("r2", "green", "red", noon(1))
    change("g3", "green", "yellow", noon(3))
    change("g3", "yellow", "green", noon(2))
    change("y1", "yellow", "yellow", noon(1))

    e1 = enterprise("艾克米制造", 1, "450103", "C", "gxj", "approved")
    e2 = enterprise("环球商贸", 2, "450102", "F", "swj", "approved")
    e3 = enterprise("待审核制造", 3, "450103", "C", "gxj", "pending")
    e4 = enterprise("西乡塘制造", 4, "450107", "C", "gxj", "approved")
    e5 = enterprise("兴宁商贸", 5, "450102", "F", "swj", "approved")
    for name in ("g1", "g2", "y1", "r2"):
        employ(e1, codes[name])
    employ(e2, codes["g4"])
    employ(e2, codes["g1"])
    employ(e3, codes["r1"])
    employ(e4, codes["y3"], active=False)

    today = timezone.localdate()
    for e in (e1, e5):
        DailyReport.objects.create(enterprise=e, day=today, figures={"employees": 1})
    for name, day in [("g1", today), ("g2", today), ("y1", today),
                      ("g1", today - timedelta(days=1)), ("g4", today - timedelta(days=1))]:  # fmt: skip
        CheckIn.objects.create(
            code=codes[name], day=day, temperature="36.5", in_nanning=True,
            new_contact=False, source="self",
        )  # fmt: skip
    return {"codes": codes, "enterprises": {"e1": e1, "e2": e2, "e3": e3, "e4": e4, "e5": e5}}


def admin(phone: str, kind: str, **scope: str):
    user = make_user(phone)
    AdminRole.objects.create(user=user, kind=kind, **scope)
    return user


@pytest.fixture
def population(db):
    return seed()


@pytest.fixture
def city(db):
    return admin("13700000001", "city_admin")


@pytest.fixture
def qingxiu(db):
    return admin("13700000002", "district_admin", district_id="450103")


@pytest.fixture
def xingning(db):
    return admin("13700000003", "district_admin", district_id="450102")


@pytest.fixture
def gxj(db):
    return admin("13700000004", "industry_admin", department="gxj")


@pytest.fixture
def qingxiu_reviewer(db):
    return admin("13700000005", "reviewer", district_id="450103")


def get(user, path: str) -> dict[str, Any]:
    response = AdminApiClient(user).get(path)
    assert response.status_code == 200, response.content
    return response.json()


def colours(rows: list[dict[str, Any]], key: str) -> dict[str, tuple[int, int, int, int]]:
    return {r[key]: (r["green"], r["yellow"], r["red"], r["total"]) for r in rows}


# --- Figures of a city admin ---------------------------------------------------------------------


def test_it_counts_codes_by_district_and_colour(population, city):
    """A city admin sees every district with codes, in the order of the district list, with
    counts per colour, totals, and the colours' names."""
    body = get(city, f"{STATS}/colour-by-district")
    assert [r["district"] for r in body["rows"]] == ["450102", "450103", "450107"]
    assert colours(body["rows"], "district") == {
        "450102": (2, 0, 1, 3),
        "450103": (3, 2, 1, 6),
        "450107": (0, 1, 0, 1),
    }
    assert body["totals"] == {"green": 5, "yellow": 3, "red": 2, "total": 10}
    qingxiu = body["rows"][1]
    assert qingxiu["label"] == "青秀区"
    assert qingxiu["name"] == "广西壮族自治区南宁市青秀区"
    assert body["colors"] == [
        {"code": "green", "label": "绿码"},
        {"code": "yellow", "label": "黄码"},
        {"code": "red", "label": "红码"},
    ]


def test_it_counts_codes_by_industry_and_colour(population, city):
    """Codes with an active employment at an approved enterprise count under its industry
    section, a code employed in two sections in both; pending enterprises and inactive
    employments do not count."""
    body = get(city, f"{STATS}/colour-by-industry")
    assert colours(body["rows"], "industry") == {"C": (2, 1, 1, 4), "F": (2, 0, 0, 2)}
    manufacturing = body["rows"][0]
    assert manufacturing["name"] == "制造业"
    assert manufacturing["department"] == "gxj"
    assert manufacturing["department_name"] == "市工信局"


def test_it_counts_a_code_once_per_section(population, city):
    """Two active employments in one section count the code once there."""
    codes = population["codes"]
    employ(population["enterprises"]["e4"], codes["g2"])  # g2 now at E1 and E4, both C
    body = get(city, f"{STATS}/colour-by-industry")
    assert colours(body["rows"], "industry")["C"] == (2, 1, 1, 4)


def test_it_reconstructs_the_daily_colour_trend(population, city):
    """The codes of each colour at the end of each day, from today's counts and the history;
    a change of reasons alone moves nothing; each day counts its changes to each colour."""
    body = get(city, f"{STATS}/trend?days=5")
    today = timezone.localdate()
    assert body["method"] == "end_of_day"
    assert [r["day"] for r in body["rows"]] == [
        (today - timedelta(days=n)).isoformat() for n in (4, 3, 2, 1, 0)
    ]
    assert [(r["green"], r["yellow"], r["red"]) for r in body["rows"]] == [
        (6, 2, 1),
        (5, 3, 1),
        (6, 2, 1),
        (5, 2, 2),
        (5, 3, 2),
    ]
    assert [r["changes"] for r in body["rows"]] == [
        {"green": 0, "yellow": 0, "red": 0},
        {"green": 0, "yellow": 1, "red": 0},
        {"green": 1, "yellow": 0, "red": 0},
        {"green": 0, "yellow": 0, "red": 1},
        {"green": 0, "yellow": 1, "red": 0},
    ]


def test_it_defaults_the_trend_to_30_days(population, city):
    """Without `days` the trend covers 30 days, today last; the 10-day-old declarations
    appear on their day."""
    rows = get(city, f"{STATS}/trend")["rows"]
    assert len(rows) == 30
    assert rows[-1]["day"] == timezone.localdate().isoformat()
    assert (rows[0]["green"], rows[0]["yellow"], rows[0]["red"]) == (0, 0, 0)
    assert rows[19]["changes"] == {"green": 6, "yellow": 2, "red": 1}  # 10 days ago


def test_it_measures_checkin_completion(population, city):
    """Each day: the codes that existed at its end, how many checked in, the share."""
    body = get(city, f"{STATS}/checkins?days=3")
    today = timezone.localdate()
    assert body["rows"] == [
        {"day": (today - timedelta(days=2)).isoformat(), "codes": 9, "checked_in": 0, "percent": 0.0},
        {"day": (today - timedelta(days=1)).isoformat(), "codes": 9, "checked_in": 2, "percent": 22.2},
        {"day": today.isoformat(), "codes": 10, "checked_in": 3, "percent": 30.0},
    ]  # fmt: skip


def test_it_gives_no_percent_without_codes(city):
    """No codes in scope: the share is null, not a division by zero."""
    rows = get(city, f"{STATS}/checkins?days=1")["rows"]
    assert rows == [
        {"day": timezone.localdate().isoformat(), "codes": 0, "checked_in": 0, "percent": None}
    ]


def test_it_counts_report_submission_by_district(population, city):
    """Approved enterprises by district, those that have and have not reported the day;
    pending enterprises do not count."""
    body = get(city, f"{STATS}/reports")
    assert body["day"] == timezone.localdate().isoformat()
    rows = {r["district"]: (r["reported"], r["not_reported"], r["total"]) for r in body["rows"]}
    assert rows == {"450102": (1, 1, 2), "450103": (1, 0, 1), "450107": (0, 1, 1)}
    assert body["totals"] == {"reported": 2, "not_reported": 2, "total": 4, "percent": 50.0}
    assert body["rows"][0]["percent"] == 50.0


def test_it_counts_reports_of_another_day(population, city):
    """`day` picks the day: nobody reported yesterday."""
    yesterday = timezone.localdate() - timedelta(days=1)
    body = get(city, f"{STATS}/reports?day={yesterday.isoformat()}")
    assert body["day"] == yesterday.isoformat()
    assert body["totals"] == {"reported": 0, "not_reported": 4, "total": 4, "percent": 0.0}


# --- Scopes --------------------------------------------------------------------------------------


def test_it_shows_a_district_admin_its_district_only(population, qingxiu):
    """A district admin's figures are those of its district's residents and enterprises."""
    assert colours(get(qingxiu, f"{STATS}/colour-by-district")["rows"], "district") == {
        "450103": (3, 2, 1, 6)
    }
    # Residents of 450103 by their employer's section, wherever the employer is.
    assert colours(get(qingxiu, f"{STATS}/colour-by-industry")["rows"], "industry") == {
        "C": (2, 1, 0, 3),
        "F": (1, 0, 0, 1),
    }
    trend = get(qingxiu, f"{STATS}/trend?days=5")["rows"]
    assert [(r["green"], r["yellow"], r["red"]) for r in trend] == [
        (3, 2, 1), (2, 3, 1), (3, 2, 1), (3, 2, 1), (3, 2, 1),
    ]  # fmt: skip
    checkins = get(qingxiu, f"{STATS}/checkins?days=2")["rows"]
    assert [(r["codes"], r["checked_in"]) for r in checkins] == [(6, 1), (6, 3)]
    reports = get(qingxiu, f"{STATS}/reports")
    assert [(r["district"], r["reported"], r["total"]) for r in reports["rows"]] == [
        ("450103", 1, 1)
    ]


def test_it_shows_another_district_admin_its_own_district(population, xingning):
    """The admin of 兴宁区 sees 兴宁区, none of 青秀区."""
    assert colours(get(xingning, f"{STATS}/colour-by-district")["rows"], "district") == {
        "450102": (2, 0, 1, 3)
    }
    reports = get(xingning, f"{STATS}/reports")
    assert reports["totals"] == {"reported": 1, "not_reported": 1, "total": 2, "percent": 50.0}


def test_it_shows_an_industry_admin_its_departments_employees(population, gxj):
    """An industry admin sees the codes of the active employees of the approved enterprises
    its department supervises (wherever they live), and those enterprises' reports."""
    assert colours(get(gxj, f"{STATS}/colour-by-district")["rows"], "district") == {
        "450102": (0, 0, 1, 1),
        "450103": (2, 1, 0, 3),
    }
    # g1 also works in retail (E2): it counts there too, and only g1 does.
    assert colours(get(gxj, f"{STATS}/colour-by-industry")["rows"], "industry") == {
        "C": (2, 1, 1, 4),
        "F": (1, 0, 0, 1),
    }
    trend = get(gxj, f"{STATS}/trend?days=2")["rows"]
    assert [(r["green"], r["yellow"], r["red"]) for r in trend] == [(2, 1, 1), (2, 1, 1)]
    checkins = get(gxj, f"{STATS}/checkins?days=1")["rows"]
    assert [(r["codes"], r["checked_in"]) for r in checkins] == [(4, 3)]
    reports = get(gxj, f"{STATS}/reports")
    assert [(r["district"], r["reported"], r["not_reported"]) for r in reports["rows"]] == [
        ("450103", 1, 0),
        ("450107", 0, 1),
    ]


def test_it_shows_a_reviewer_its_districts_codes_and_no_enterprises(population, qingxiu_reviewer):
    """A reviewer reads the statistics of the district it reviews; it oversees no
    enterprises, so its report figures are empty."""
    assert colours(get(qingxiu_reviewer, f"{STATS}/colour-by-district")["rows"], "district") == {
        "450103": (3, 2, 1, 6)
    }
    reports = get(qingxiu_reviewer, f"{STATS}/reports")
    assert reports["rows"] == []
    assert reports["totals"] == {"reported": 0, "not_reported": 0, "total": 0, "percent": None}


# --- Cost ----------------------------------------------------------------------------------------


def _queries(user, path: str) -> int:
    client = AdminApiClient(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize("kind", ["city", "gxj"])
def test_it_costs_the_same_queries_for_5_and_50_codes(db, kind):
    """Every call makes the same number of queries for 5 codes as for 50 (set-based
    aggregates, no loop over codes), for a plain and for a joined (industry) scope."""
    user = (
        admin("13700000001", "city_admin")
        if kind == "city"
        else admin("13700000004", "industry_admin", department="gxj")
    )
    where = enterprise("艾克米制造", 1, "450103", "C", "gxj", "approved")
    colours_ = ["green", "yellow", "red", "green", "yellow"]
    districts = ["450103", "450102", "450107", "450105", "450103"]

    def grow(first: int, count: int) -> None:
        specs = [(districts[i % 5], colours_[i % 5]) for i in range(count)]
        for code in make_codes(specs, first_seq=first):
            employ(where, code)
            CheckIn.objects.create(
                code=code, day=timezone.localdate(), temperature="36.5", in_nanning=True,
                new_contact=False, source="self",
            )  # fmt: skip

    grow(100, 5)
    for path in ENDPOINTS:  # warm the per-process caches (regions, rule set) first
        _queries(user, path)
    small = {path: _queries(user, path) for path in ENDPOINTS}
    grow(200, 45)
    assert get(user, f"{STATS}/colour-by-district")["totals"]["total"] == 50
    large = {path: _queries(user, path) for path in ENDPOINTS}
    assert small == large


# --- Bad parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, field",
    [
        ("/trend?days=0", "days"),
        ("/trend?days=91", "days"),
        ("/trend?days=-3", "days"),
        ("/trend?days=abc", "days"),
        ("/checkins?days=0", "days"),
        ("/checkins?days=365", "days"),
        ("/checkins?days=x", "days"),
        ("/reports?day=2020-02-30", "day"),
        ("/reports?day=yesterday", "day"),
    ],
)
def test_it_refuses_bad_parameters(city, path, field):
    """Out-of-range or malformed parameters give 400 naming the parameter."""
    response = AdminApiClient(city).get(f"{STATS}{path}")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert errors[field][0].endswith("。")


def test_it_states_the_range_of_days(city):
    """The message for an out-of-range `days` states the rule."""
    response = AdminApiClient(city).get(f"{STATS}/trend?days=120")
    assert response.json() == {"errors": {"days": ["统计天数应为 1 到 90 之间的整数。"]}}


def test_it_accepts_the_bounds_of_days(city):
    """1 and 90 days are accepted."""
    assert len(get(city, f"{STATS}/trend?days=1")["rows"]) == 1
    assert len(get(city, f"{STATS}/checkins?days=90")["rows"]) == 90


def test_it_answers_in_english(population, city):
    """Names follow Accept-Language."""
    response = AdminApiClient(city, language="en").get(f"{STATS}/colour-by-district")
    body = response.json()
    assert body["colors"][0]["label"] != "绿码"
    assert body["rows"][1]["label"] == "Qingxiu District"
