"""Cached region lookups for the rest of the project."""

from __future__ import annotations

from typing import Any

import pytest

from healthcode.regions import services
from healthcode.regions.choices import RegionLevel
from healthcode.regions.models import Region

pytestmark = pytest.mark.django_db

NANNING_COUNTIES = [
    "450102", "450103", "450105", "450107", "450108", "450109",
    "450110", "450123", "450124", "450125", "450126", "450181",
]  # fmt: skip
ZONES = ["45Z101", "45Z102", "45Z103", "45Z104"]


def test_it_finds_regions_by_code() -> None:
    """get_region returns the Region with its parent already attached."""
    qingxiu = services.get_region("450103")
    assert qingxiu is not None and qingxiu.name == "青秀区"
    assert qingxiu.parent is not None and qingxiu.parent.code == "450100"


@pytest.mark.parametrize("code", ["", None, "999999", "4201", "42", "450127", "45Z199", "abc"])
def test_it_gives_none_for_unknown_codes(code: str | None) -> None:
    """Unknown, partial, retired or empty codes give None / False / "" / ()."""
    assert services.get_region(code) is None
    assert services.is_region(code) is False
    assert services.is_nanning_district(code) is False
    assert services.province_of(code) == ""
    assert services.ancestor_codes(code) == ()
    assert services.describe(code) == (code or "")


def test_it_lists_nanning_districts_then_development_zones() -> None:
    """nanning_districts: the 12 county-level units of Nanning by code, then the 4 zones."""
    districts = services.nanning_districts()
    assert [r.code for r in districts] == NANNING_COUNTIES + ZONES
    assert all(services.is_nanning_district(code) for code in NANNING_COUNTIES + ZONES)
    assert not services.is_nanning_district("450100")  # the city itself
    assert not services.is_nanning_district("450202")  # a Liuzhou district
    districts.clear()  # callers get a copy
    assert len(services.nanning_districts()) == 16


def test_it_offers_every_gbt2260_region_for_return() -> None:
    """region_choices_for_return: (code, full name) of all provinces, cities and counties,
    sorted by code; no development zones."""
    choices = services.region_choices_for_return()
    codes = [code for code, _ in choices]
    assert codes == sorted(codes)
    assert len(codes) == Region.objects.exclude(level=RegionLevel.ZONE).count()
    assert ("420000", "湖北省") in choices
    assert ("440300", "广东省深圳市") in choices
    assert not set(ZONES) & set(codes)
    assert services.is_region("420100") and not services.is_region("45Z101")


@pytest.mark.parametrize(
    ("code", "province"),
    [
        ("420000", "420000"),
        ("420100", "420000"),
        ("429004", "420000"),
        ("440300", "440000"),
        ("450103", "450000"),
        ("45Z102", "450000"),
        ("110101", "110000"),
    ],
)
def test_it_finds_the_province(code: str, province: str) -> None:
    """province_of gives the 6-digit province code of any region or zone."""
    assert services.province_of(code) == province


def test_it_walks_up_the_tree() -> None:
    """ancestor_codes: self first, province last."""
    assert services.ancestor_codes("450103") == ("450103", "450100", "450000")
    assert services.ancestor_codes("110101") == ("110101", "110000")
    assert services.ancestor_codes("420000") == ("420000",)


@pytest.mark.parametrize(
    ("code", "lang", "text"),
    [
        ("450103", "zh-hans", "广西壮族自治区南宁市青秀区"),
        ("450103", "en", "Qingxiu District, Nanning, Guangxi Zhuang Autonomous Region"),
        ("420100", "en-us", "Wuhan, Hubei Province"),
        ("420000", "en", "Hubei Province"),
        ("45Z103", "zh-hans", "广西壮族自治区南宁市广西—东盟经济技术开发区"),
        # No English name for the district: the Chinese full name.
        ("420102", "en", "湖北省武汉市江岸区"),
    ],
)
def test_it_describes_regions(code: str, lang: str, text: str) -> None:
    """describe gives the full name, in English when every level has an English name."""
    assert services.describe(code, lang) == text


def test_it_answers_from_memory_after_the_first_lookup(
    django_assert_num_queries: Any,
) -> None:
    """The first lookup reads the table once; later lookups run no query at all."""
    with django_assert_num_queries(1):
        services.get_region("450103")
    with django_assert_num_queries(0):
        region = services.get_region("450103")
        assert region is not None and region.parent is not None
        assert region.parent.parent is not None
        services.nanning_districts()
        services.is_nanning_district("450103")
        services.region_choices_for_return()
        services.province_of("450103")
        services.describe("450103", "en")


def test_it_sees_a_region_saved_after_the_index_was_built() -> None:
    """Saving or deleting a Region clears the index, so lookups see the change."""
    assert services.get_region("450103") is not None
    Region.objects.create(code="45Z105", name="测试区", level=RegionLevel.ZONE, parent_id="450100")
    assert services.is_nanning_district("45Z105")
    Region.objects.filter(code="45Z105").delete()
    assert not services.is_nanning_district("45Z105")
