"""Every roster filter and sort, in every scope (city, district admin, industry admin), is
served by an index on PostgreSQL: the real `roster_queryset`, its page (LIMIT 50) and its count,
EXPLAINed with sequential scans disabled over enough rows (ANALYZEd), must not Seq Scan
codes_healthcode and must use the index meant for it (HealthCode.Meta.indexes).

Substring searches have no b-tree to use: a name fragment (`person`) and an enterprise name
(`enterprise`) are matched row by row within the scope, so there the test holds the plan to
the scope's index (the district for a district admin) — bounded by the scope, not the city —
and lets the city admin's enterprise search read the whole table (it is an OR of a subquery
and a LIKE that no index serves). Sorting by last update sorts the scope: `updated_at` is not
indexed, since every check-in writes it and an index on it would make those writes non-HOT.

Plans measured on 1,000,000 codes, 50,000 enterprises and 600,000 employees (PostgreSQL 15,
sequential scans allowed; page = the first 50 rows of the default sort; index-only = the count):

  filter                     city admin                          district admin (450103)
  (none)                     pkey; count index-only (any index)  codes_district_order_idx
  district                   codes_district_order_idx            codes_district_order_idx
  colour                     codes_color_order_idx               codes_district_color_idx
  district + colour          codes_district_color_idx            codes_district_color_idx
  returned_to_work=0/1       pkey; count codes_returned_to_work_idx  codes_returned_to_work_idx
  returned_from_elsewhere    pkey; count codes_from_elsewhere_idx    codes_from_elsewhere_idx
  arrival range              codes_arrival_order_idx             codes_arrival_order_idx
  person: phone              codes_phone_idx                     codes_phone_idx
  person: ID number          id_number_index (unique)            id_number_index (unique)
  person: name fragment      seq/full scan of the city, 0.3-1.6 s  codes_district_order_idx, 30 ms
  enterprise name            every code of the scope, 1-8 s      codes_district_order_idx, 0.5 s
  industry / department      pkey + employee(code_id) semi-join  codes_district_order_idx
  sort name / arrival        codes_name_order_idx / codes_arrival_order_idx (both scopes)
  sort district / colour     codes_district_order_idx / codes_color_rank_idx (both scopes)
  sort -updated              top-N sort of the city, 0.5 s       codes_district_order_idx, 50 ms

Pages take 0.3-10 ms and counts 0.3-160 ms except where noted. An industry admin's scope (the
active staff of its department's approved enterprises, an EXISTS) is read through
employees_scope_idx or the employees' code index; its counts take 0.1-0.5 s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
from django.db import connection

from healthcode.backoffice.models import AdminRole
from healthcode.backoffice.roster import _VALUES, RosterFilter, roster_queryset
from healthcode.testing import make_user

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

CODES = 20_000
ENTERPRISES = 1_000
EMPLOYEES = 8_000
TABLE = "codes_healthcode"
DISTRICTS = [
    "450102", "450103", "450105", "450107", "450108", "450109", "450110", "450123",
    "450124", "450125", "450126", "450181", "45Z101", "45Z102", "45Z103", "45Z104",
]  # fmt: skip
DEPARTMENTS = ["fgw", "gxj", "swj", "jrb", "zjj", "wglj", "rsj", "scjgj", "jtysj", "nyncj"]

SEED = f"""
INSERT INTO codes_healthcode (public_id, relation, name, id_number_encrypted, id_number_index,
  id_number_masked, phone, address, returned_to_work, employer, returned_from_elsewhere,
  arrival_date, contact_with_case, symptoms, temperature, attested_at, color, reasons,
  path_to_green, rule_set_id, rule_set_version, next_change_at, color_since, created_at,
  updated_at, account_id, district_id, return_region_id)
SELECT gen_random_uuid(), 'self',
  substr('王李张刘陈杨黄赵吴周', 1 + n %% 10, 1) || substr('伟芳娜秀英敏静丽强磊', 1 + n / 10 %% 10, 1)
    || CASE WHEN n %% 3 = 0 THEN substr('军洋勇艳杰娟涛明超霞', 1 + n / 100 %% 10, 1) ELSE '' END,
  'x', md5(n::text) || md5((-n)::text), '450103********0000', '139' || lpad(n::text, 8, '0'),
  '南宁市某路 ' || n || ' 号', n %% 7 = 0, CASE WHEN n %% 2 = 0 THEN '南宁某某公司' || n %% 500 ELSE '' END,
  n %% 11 = 0, CASE WHEN n %% 11 = 0 THEN date '2020-01-10' + n %% 50 END, false, '[]', 36.5, now(),
  CASE WHEN n %% 97 = 0 THEN 'red' WHEN n %% 23 = 0 THEN 'yellow' ELSE 'green' END, '[]', '[]',
  'nanning', 1, NULL, now(), now(), now() - (n * 37 %% 10000) * interval '1 minute',
  %(account)s, (%(districts)s::text[])[1 + abs(hashtext(n::text)) %% 16],
  CASE WHEN n %% 11 = 0 THEN '420100' END
FROM generate_series(1, {CODES}) n;

INSERT INTO enterprises_enterprise (name, credit_code, district_id, industry, department,
  address, contact_name, contact_phone, status, created_at, decision_note)
SELECT '南宁企业' || n || '有限公司', lpad(n::text, 18, '0'), (%(districts)s::text[])[1 + n %% 16],
  chr(65 + n %% 20), (%(departments)s::text[])[1 + n %% 10], '地址', '联系人', '13800000000',
  CASE WHEN n %% 10 = 0 THEN 'pending' ELSE 'approved' END, now(), ''
FROM generate_series(1, {ENTERPRISES}) n;

INSERT INTO enterprises_employee (enterprise_id, name, phone, code_id, department_name,
  returned_to_work, can_scan, active, added_at)
SELECT e.first + n %% {ENTERPRISES}, 'x', '139' || lpad(n::text, 8, '0'), c.first + n * 2, '',
  true, false, n %% 20 <> 0, now()
FROM generate_series(1, {EMPLOYEES}) n,
  (SELECT min(id) AS first FROM enterprises_enterprise) e,
  (SELECT min(id) AS first FROM codes_healthcode) c;

ANALYZE codes_healthcode;
ANALYZE enterprises_enterprise;
ANALYZE enterprises_employee;
"""


@dataclass(frozen=True)
class RosterCase:
    """A roster query and the indexes on codes_healthcode that may serve it (any of them, in
    the page's plan or the count's)."""

    filters: RosterFilter
    indexes: frozenset[str]
    # No index narrows it for the whole city (module docstring): a substring match, or the
    # sort by last update.
    scans_the_city: bool = False


def case(*indexes: str, **filters: Any) -> RosterCase:
    return RosterCase(RosterFilter(**filters), frozenset(indexes))


def city_scan(**filters: Any) -> RosterCase:
    return RosterCase(RosterFilter(**filters), frozenset(), scans_the_city=True)


PKEY = "codes_healthcode_pkey"
BY_DISTRICT = "codes_district_order_idx"
BY_DISTRICT_COLOR = "codes_district_color_idx"
# The unique constraint's index, or Django's varchar_pattern_ops twin of it.
ID_NUMBER = (
    "codes_healthcode_id_number_index_key",
    "codes_healthcode_id_number_index_655a51ee_like",
)

# filter name -> {scope: Case}; the district admin administers 450103.
CASES: dict[str, dict[str, RosterCase]] = {
    "none": {
        "city": case(PKEY),
        "district": case(BY_DISTRICT),
    },
    "district": {
        "city": case(BY_DISTRICT, BY_DISTRICT_COLOR, district="450105"),
        "district": case(BY_DISTRICT, BY_DISTRICT_COLOR, district="450103"),
    },
    "color": {
        "city": case("codes_color_order_idx", color="red"),
        "district": case(BY_DISTRICT_COLOR, color="red"),
    },
    "district+color": {
        "city": case(BY_DISTRICT_COLOR, district="450105", color="yellow"),
        "district": case(BY_DISTRICT_COLOR, district="450103", color="yellow"),
    },
    "returned_to_work=1": {
        "city": case("codes_returned_to_work_idx", returned_to_work=True),
        "district": case("codes_returned_to_work_idx", returned_to_work=True),
    },
    "returned_to_work=0": {
        "city": case("codes_returned_to_work_idx", returned_to_work=False),
        "district": case("codes_returned_to_work_idx", BY_DISTRICT, returned_to_work=False),
    },
    "returned_from_elsewhere=1": {
        "city": case("codes_from_elsewhere_idx", returned_from_elsewhere=True),
        "district": case("codes_from_elsewhere_idx", returned_from_elsewhere=True),
    },
    "returned_from_elsewhere=0": {
        "city": case("codes_from_elsewhere_idx", returned_from_elsewhere=False),
        "district": case("codes_from_elsewhere_idx", BY_DISTRICT, returned_from_elsewhere=False),
    },
    "arrival range": {
        "city": case(
            "codes_arrival_order_idx", arrival_from=date(2020, 2, 1), arrival_to=date(2020, 2, 3)
        ),
        "district": case(
            "codes_arrival_order_idx", arrival_from=date(2020, 2, 1), arrival_to=date(2020, 2, 3)
        ),
    },
    "arrival from": {
        "city": case("codes_arrival_order_idx", arrival_from=date(2020, 2, 25)),
        "district": case("codes_arrival_order_idx", arrival_from=date(2020, 2, 25)),
    },
    "person: phone": {
        "city": case("codes_phone_idx", person="PHONE"),
        "district": case("codes_phone_idx", person="PHONE"),
    },
    "person: ID number index": {
        "city": case(*ID_NUMBER, person_index="INDEX"),
        "district": case(*ID_NUMBER, person_index="INDEX"),
    },
    "person: name fragment": {
        "city": case(PKEY, person="张伟"),
        "district": case(BY_DISTRICT, person="张伟"),
    },
    "enterprise": {
        "city": city_scan(enterprise="企业12有限"),
        "district": case(BY_DISTRICT, enterprise="企业12有限"),
    },
    "industry": {
        "city": case(PKEY, industry="C"),
        "district": case(BY_DISTRICT, PKEY, industry="C"),
    },
    "department": {
        "city": case(PKEY, department="swj"),
        "district": case(BY_DISTRICT, PKEY, department="swj"),
    },
    "sort=name": {
        "city": case("codes_name_order_idx", sort="name"),
        "district": case("codes_name_order_idx", BY_DISTRICT, sort="name"),
    },
    "sort=-updated": {
        "city": city_scan(sort="-updated"),
        "district": case(BY_DISTRICT, sort="-updated"),
    },
    "sort=arrival": {
        "city": case("codes_arrival_order_idx", sort="arrival"),
        "district": case("codes_arrival_order_idx", BY_DISTRICT, sort="arrival"),
    },
    "sort=district": {
        "city": case(BY_DISTRICT, sort="district"),
        "district": case(BY_DISTRICT, sort="district"),
    },
    "sort=-color": {
        "city": case("codes_color_rank_idx", sort="-color"),
        "district": case("codes_color_rank_idx", BY_DISTRICT, sort="-color"),
    },
}


@pytest.fixture
def roster_world() -> dict[str, Any]:
    """Three authorities and CODES codes, ENTERPRISES enterprises and EMPLOYEES employees
    inserted in bulk (by SQL: thousands of declarations through the service would take
    minutes), analysed; sequential scans off for this test's transaction."""
    city = make_user("13800000401")
    AdminRole.objects.create(user=city, kind="city_admin")
    district = make_user("13800000402")
    AdminRole.objects.create(user=district, kind="district_admin", district_id="450103")
    industry = make_user("13800000403")
    AdminRole.objects.create(user=industry, kind="industry_admin", department="gxj")
    with connection.cursor() as cursor:
        cursor.execute(
            SEED, {"account": city.pk, "districts": DISTRICTS, "departments": DEPARTMENTS}
        )
        cursor.execute(
            "SELECT phone, id_number_index FROM codes_healthcode WHERE district_id = '450103'"
            " ORDER BY id LIMIT 1 OFFSET 100"
        )
        phone, index = cursor.fetchone()
        cursor.execute("SET LOCAL enable_seqscan = off")
    return {
        "scopes": {"city": city, "district": district, "industry": industry},
        "phone": phone,
        "index": index,
    }


def plan_nodes(sql: str, params: Any) -> list[dict[str, Any]]:
    """The nodes of the query's plan, flattened (EXPLAIN, FORMAT JSON)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (raw,) = cursor.fetchone()
    document = json.loads(raw) if isinstance(raw, str) else raw
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], relation: str | None) -> None:
        # A Bitmap Index Scan names its index, the Bitmap Heap Scan above it the table.
        if node["Node Type"] == "Bitmap Heap Scan":
            relation = node["Relation Name"]
        elif "Index Name" in node and "Relation Name" not in node and relation:
            node = {**node, "Relation Name": relation}
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child, relation)

    walk(document[0]["Plan"], None)
    return nodes


def summary(nodes: list[dict[str, Any]]) -> str:
    return " ; ".join(
        f"{n['Node Type']} {n.get('Index Name', '')} on {n.get('Relation Name', '')}".strip()
        for n in nodes
        if "Relation Name" in n
    )


def explain(queryset: Any) -> dict[str, list[dict[str, Any]]]:
    """The plans of a roster page (the listed columns, LIMIT 50) and of its count."""
    page = queryset.values_list(*_VALUES)[:50]
    count_sql, count_params = queryset.order_by().values("pk").query.sql_with_params()
    return {
        "page": plan_nodes(*page.query.sql_with_params()),
        "count": plan_nodes(f"SELECT count(*) FROM ({count_sql}) s", count_params),
    }


def resolve(filters: RosterFilter, world: dict[str, Any]) -> RosterFilter:
    if filters.person == "PHONE":
        return replace(filters, person=world["phone"])
    if filters.person_index == "INDEX":
        return replace(filters, person_index=world["index"])
    return filters


def codes_scans(plans: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [n for nodes in plans.values() for n in nodes if n.get("Relation Name") == TABLE]


def test_each_filter_uses_its_index_in_city_and_district_scope(roster_world):
    """The page and the count of each filter read codes_healthcode through an index — the
    one meant for the filter — never by a sequential scan (all filters checked, then every
    failure reported)."""
    failures = []
    for name, scopes in CASES.items():
        for scope, expected in scopes.items():
            user = roster_world["scopes"][scope]
            plans = explain(roster_queryset(user, resolve(expected.filters, roster_world)))
            scans = codes_scans(plans)
            described = {part: summary(nodes) for part, nodes in plans.items()}
            used = {n.get("Index Name") for n in scans}
            if not scans:
                failures.append((name, scope, "codes_healthcode not read", described))
            elif expected.scans_the_city:
                continue
            elif any(n["Node Type"] == "Seq Scan" for n in scans):
                failures.append((name, scope, "Seq Scan", described))
            elif not used & expected.indexes:
                failures.append((name, scope, f"none of {sorted(expected.indexes)}", described))
    assert failures == [], "\n".join(map(str, failures))


def test_each_filter_in_an_industry_admins_scope_reads_staff_through_an_index(roster_world):
    """An industry admin's scope (the staff of gxj's approved enterprises) is an EXISTS over
    employees: for every filter, neither codes nor employees are scanned sequentially (the
    employees are read through employees_scope_idx or one of their foreign-key indexes)."""
    failures = []
    for name, scopes in CASES.items():
        filters = resolve(scopes["city"].filters, roster_world)
        plans = explain(roster_queryset(roster_world["scopes"]["industry"], filters))
        described = {part: summary(nodes) for part, nodes in plans.items()}
        nodes = [n for part in plans.values() for n in part]
        scanned = {n.get("Relation Name") for n in nodes if n["Node Type"] == "Seq Scan"}
        employees = [n for n in nodes if n.get("Relation Name") == "enterprises_employee"]
        if scopes["city"].scans_the_city:
            scanned.discard(TABLE)
        if scanned & {TABLE, "enterprises_employee"}:
            failures.append((name, "Seq Scan", described))
        elif not employees or not codes_scans(plans):
            failures.append((name, "employees or codes not read", described))
    assert failures == [], "\n".join(map(str, failures))


def test_the_partitioned_tables_are_not_seq_scanned_by_code_either(roster_world):
    """A code's check-ins and scans (the resident's history) are read by the code's index in
    every monthly partition, not by scanning them."""
    from healthcode.checkins.models import CheckIn
    from healthcode.codes.models import Scan

    code_id = 1
    for queryset, table in (
        (CheckIn.objects.filter(code_id=code_id).order_by("-day")[:30], "checkins_checkin"),
        (Scan.objects.filter(code_id=code_id).order_by("-at")[:30], "codes_scan"),
    ):
        nodes = plan_nodes(*queryset.query.sql_with_params())
        scans = [n for n in nodes if str(n.get("Relation Name", "")).startswith(table)]
        assert scans and all(n["Node Type"] != "Seq Scan" for n in scans), summary(nodes)
