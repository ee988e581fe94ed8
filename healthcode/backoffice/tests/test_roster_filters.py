"""The roster's filters, sorting and paging through GET /api/v1/admin/roster (as a city admin,
who sees everyone): each filter alone and combined, the person query by name, phone and ID
number (blind index), the SPEC §6 columns in order, validation naming the field, and a bounded
number of queries per page."""

from __future__ import annotations

import pytest
from django.utils import translation

from healthcode.backoffice.roster import parse_request, roster_queryset
from healthcode.backoffice.tests.test_roster_fixtures import *  # noqa: F403
from healthcode.backoffice.tests.test_roster_fixtures import RESIDENTS, full_id_number
from healthcode.testing import AdminApiClient

pytestmark = pytest.mark.django_db

PERSONA_NAMES = {"王经理", "陈老板", "吴市管", "刘员工", "张扫码"}


def names(client: AdminApiClient, query: str = "") -> set[str]:
    response = client.get(f"/admin/roster?unmask=1&page_size=100{query}")
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def test_it_shows_the_spec_columns_in_order(city_admin, world):
    """The columns are SPEC §6's, in its order; 企业名称 is the approved employer when there is
    one, else the declared employer; masked by default."""
    response = AdminApiClient(city_admin).get("/admin/roster?person=13900000002")
    body = response.json()
    assert [c["label"] for c in body["columns"]] == [
        "用户",
        "用户健康码状态",
        "用户居住地址",
        "联系电话",
        "是否复工人员",
        "企业名称",
        "是否外地返回",
        "返回城市",
        "到邕时间",
    ]
    (row,) = body["results"]
    assert body["masked"] is True
    assert row["name"] == "钱*丽" and row["phone"] == "139****0002"
    assert row["color"] == "yellow" and row["color_label"] == "黄码"
    assert row["returned_to_work"] is True and row["returned_from_elsewhere"] is True
    assert row["enterprise"] == "南宁绿城物流有限公司"
    assert row["return_region"] == "440300" and "深圳" in row["return_region_name"]
    assert row["arrival_date"] == "2020-02-15"
    li = AdminApiClient(city_admin).get("/admin/roster?person=13900000004").json()["results"][0]
    assert li["enterprise"] == "南宁艾克米制造有限公司"  # not the declared 自填单位


def test_it_ignores_employments_at_unapproved_enterprises_and_past_ones(city_admin, world, acme):
    """A pending enterprise's staff list, or an employment that ended, does not name the
    person's enterprise: the declared employer stays."""
    from healthcode.enterprises.models import Employee, Enterprise
    from healthcode.testing import credit_code

    pending = Enterprise.objects.create(
        name="南宁待审企业", credit_code=credit_code(9), district_id="450103", industry="C",
        department="gxj", address="南宁市", contact_name="某", contact_phone="13800000101",
    )  # fmt: skip
    qian = world["qian"]
    Employee.objects.create(enterprise=pending, name=qian.name, phone=qian.phone, code=qian)
    Employee.objects.create(
        enterprise=acme, name=qian.name, phone=qian.phone, code=qian, active=False
    )
    client = AdminApiClient(city_admin)
    row = client.get("/admin/roster?person=13900000002").json()["results"][0]
    assert row["enterprise"] == "南宁绿城物流有限公司"
    assert names(client, "&enterprise=待审") == set()


def test_it_filters_by_each_field_alone(city_admin, world):
    """Each filter narrows the roster to the people it names."""
    client = AdminApiClient(city_admin)
    assert names(client, "&district=450102") == {"孙明", "李芳芳", "周大伟"}
    assert names(client, "&color=red") == {"赵小刚", "孙明"}
    assert names(client, "&color=yellow") == {"钱丽丽"}
    assert names(client, "&enterprise=艾克米") == {"李芳芳", "刘员工", "张扫码"}
    assert names(client, "&enterprise=绿城物流") == {"钱丽丽"}
    assert names(client, "&enterprise=自填单位") == set()  # li's column shows acme, not this
    assert names(client, "&returned_to_work=1") == {"钱丽丽", "李芳芳"}
    assert "钱丽丽" not in names(client, "&returned_to_work=0")
    assert names(client, "&returned_from_elsewhere=true") == {"赵小刚", "钱丽丽", "孙明"}
    assert names(client, "&returned_from_elsewhere=0") == {"李芳芳", "周大伟"} | PERSONA_NAMES
    assert names(client, "&arrival_from=2020-02-12") == {"钱丽丽", "孙明"}
    assert names(client, "&arrival_to=2020-02-12") == {"赵小刚", "孙明"}
    assert names(client, "&industry=F") == {"周大伟"}
    assert names(client, "&department=gxj") == {"李芳芳", "刘员工", "张扫码"}


def test_it_finds_a_person_by_name_phone_or_id_number(city_admin, world):
    """The person query matches a name containing it, an exact phone, or an exact ID number
    through the blind index (a partial ID number matches nothing: no LIKE on encrypted data)."""
    client = AdminApiClient(city_admin)
    assert names(client, "&person=芳") == {"李芳芳"}
    assert names(client, "&person=13900000003") == {"孙明"}
    assert names(client, "&person=1390000000") == set()  # phones match exactly
    assert names(client, f"&person={full_id_number('zhao')}") == {"赵小刚"}
    assert names(client, f"&person={full_id_number('zhao')[:10]}") == set()
    assert names(client, f"&person={full_id_number('zhao').lower()}") == {"赵小刚"}


def test_it_searches_id_numbers_only_through_the_blind_index(city_admin, world):
    """The SQL of an ID-number query compares the index column, never the ciphertext."""
    asked = parse_request({"person": full_id_number("sun")})
    where = str(roster_queryset(city_admin, asked.filters).query).split(" WHERE ", 1)[1]
    assert "id_number_index" in where and "id_number_encrypted" not in where
    assert full_id_number("sun") not in where


def test_it_combines_filters(city_admin, world):
    """Filters combine with AND."""
    client = AdminApiClient(city_admin)
    assert names(client, "&district=450102&color=red") == {"孙明"}
    assert names(client, "&district=450103&returned_from_elsewhere=1&color=red") == {"赵小刚"}
    assert names(client, "&returned_to_work=1&enterprise=艾克米") == {"李芳芳"}
    query = "&arrival_from=2020-02-11&arrival_to=2020-02-14&district=450102&person=孙"
    assert names(client, query) == {"孙明"}
    assert names(client, "&district=450103&person=13900000003") == set()


def test_it_sorts_by_the_whitelisted_keys(city_admin, world):
    """Sorting by arrival, colour (by severity), district and name, ascending or descending."""
    client = AdminApiClient(city_admin)

    def order(query: str) -> list[str]:
        rows = client.get(f"/admin/roster?unmask=1&returned_from_elsewhere=1{query}").json()
        return [r["name"] for r in rows["results"]]

    assert order("&sort=arrival") == ["赵小刚", "孙明", "钱丽丽"]
    assert order("&sort=-arrival") == ["钱丽丽", "孙明", "赵小刚"]
    assert order("&sort=color")[0] == "钱丽丽"  # yellow before red
    assert order("&sort=-color")[-1] == "钱丽丽"
    assert order("&sort=district")[0] == "孙明"  # 450102 before 450103
    assert order("&sort=-updated")[0] == "孙明"  # declared last of the three
    assert sorted(order("&sort=name")) == sorted(order("&sort=-name"))


def test_it_pages(city_admin, world):
    """page and page_size cut the roster; the count is the whole filtered roster."""
    client = AdminApiClient(city_admin)
    total = len(RESIDENTS) + len(PERSONA_NAMES)
    first = client.get("/admin/roster?page_size=4&sort=name").json()
    assert (first["count"], first["pages"], len(first["results"])) == (total, 3, 4)
    last = client.get("/admin/roster?page_size=4&sort=name&page=3").json()
    assert len(last["results"]) == total - 8
    seen = {r["id"] for r in first["results"]} | {r["id"] for r in last["results"]}
    assert len(seen) == len(first["results"]) + len(last["results"])
    beyond = client.get("/admin/roster?page_size=4&page=9").json()
    assert beyond["results"] == [] and beyond["count"] == total


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("arrival_from=2020-13-01", "arrival_from"),
        ("arrival_to=yesterday", "arrival_to"),
        ("arrival_from=2020-02-20&arrival_to=2020-02-10", "arrival_to"),
        ("color=blue", "color"),
        ("district=420100", "district"),
        ("district=450100", "district"),
        ("returned_to_work=maybe", "returned_to_work"),
        ("returned_from_elsewhere=2", "returned_from_elsewhere"),
        ("sort=id_number", "sort"),
        ("industry=Z", "industry"),
        ("page_size=101", "page_size"),
        ("page_size=0", "page_size"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("person=" + "长" * 65, "person"),
    ],
)
def test_it_refuses_bad_filters_naming_the_field(city_admin, query, field):
    """A bad date, a range that ends before it starts, an unknown colour, a district not in
    Nanning, an unknown sort or a page size above 100: 400 naming the field, in Chinese."""
    response = AdminApiClient(city_admin).get(f"/admin/roster?{query}")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert errors[field][0].endswith("。")


def test_it_answers_in_english(city_admin):
    """Messages follow Accept-Language (the lead adds the English catalogue)."""
    response = AdminApiClient(city_admin, language="en").get("/admin/roster?color=blue")
    translation.activate("zh-hans")  # the request's language stays active in this thread
    assert response.status_code == 400 and "color" in response.json()["errors"]


def test_it_reads_a_page_in_a_bounded_number_of_queries(
    city_admin, world, django_assert_max_num_queries
):
    """No N+1: a page of 100 costs the same few queries as a page of 2 (count, rows, their
    employers, the role checks)."""
    from healthcode.codes.models import HealthCode
    from healthcode.enterprises.models import Employee

    acme = world["li"].employments.get().enterprise
    for i in range(60):
        code = resident_code_copy(i)
        Employee.objects.create(enterprise=acme, name=code.name, phone=code.phone, code=code)
    assert HealthCode.objects.count() > 60
    client = AdminApiClient(city_admin)
    client.get("/admin/roster?page_size=2")  # warm the caches (regions, token)
    with django_assert_max_num_queries(12) as small:
        assert len(client.get("/admin/roster?page_size=2").json()["results"]) == 2
    with django_assert_max_num_queries(12) as large:
        assert len(client.get("/admin/roster?page_size=100").json()["results"]) == 70
    assert len(large.captured_queries) == len(small.captured_queries)


def resident_code_copy(i: int):
    from healthcode.codes import services as code_services
    from healthcode.testing import declaration, id_number, make_user

    phone = f"1370000{i:04d}"
    return code_services.declare(
        account=make_user(phone),
        data=declaration(
            name="测试" + "甲乙丙丁戊己庚辛壬癸"[i % 10] * (1 + i // 10),
            id_number=id_number(seq=300 + i),
            phone=phone,
        ),
    )
