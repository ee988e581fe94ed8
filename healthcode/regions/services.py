"""Read-only lookups of regions, for hot paths (forms, colour rules, rosters, exports).

The whole table (~3,300 rows) is read once per process into an in-memory index; every lookup
is then a dict access. The index is rebuilt after `sync_regions()` writes or a Region is saved
or deleted in this process (see apps.py). Other processes keep their index until restarted,
which is fine for data that changes about once a year.

Returned Region objects are shared between callers: treat them as read-only. Their `parent` is
pre-filled from the index, so walking up costs no query.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from healthcode.regions.choices import RegionLevel
from healthcode.regions.constants import NANNING
from healthcode.regions.models import Region


@dataclass(frozen=True, slots=True)
class _Index:
    by_code: dict[str, Region]
    # Self first, then parent, ..., province last.
    lineage: dict[str, tuple[str, ...]]
    nanning_districts: tuple[Region, ...]
    nanning_district_codes: frozenset[str]
    return_choices: tuple[tuple[str, str], ...]
    names_en: dict[str, str]


_index: _Index | None = None
_lock = threading.Lock()


def _build_index() -> _Index:
    by_code = {region.code: region for region in Region.objects.order_by("code")}
    for region in by_code.values():
        # Fill the FK cache so `region.parent` needs no query.
        region.parent = by_code.get(region.parent_id) if region.parent_id else None

    lineage: dict[str, tuple[str, ...]] = {}
    for code, region in by_code.items():
        chain: list[str] = []
        node: Region | None = region
        while node is not None and len(chain) < 5:  # the tree is 3 deep; guard against cycles
            chain.append(node.code)
            node = node.parent
        lineage[code] = tuple(chain)

    nanning_children = [r for r in by_code.values() if r.parent_id == NANNING]
    districts = [r for r in nanning_children if r.level == RegionLevel.COUNTY]
    zones = [r for r in nanning_children if r.level == RegionLevel.ZONE]

    names_en: dict[str, str] = {}
    for code, chain in lineage.items():
        parts = [by_code[c].name_en for c in chain]
        if all(parts):
            names_en[code] = ", ".join(parts)

    return _Index(
        by_code=by_code,
        lineage=lineage,
        nanning_districts=tuple(districts + zones),
        nanning_district_codes=frozenset(r.code for r in districts + zones),
        return_choices=tuple(
            (r.code, r.full_name) for r in by_code.values() if r.level != RegionLevel.ZONE
        ),
        names_en=names_en,
    )


def _get_index() -> _Index:
    global _index
    index = _index
    if index is None:
        with _lock:
            index = _index
            if index is None:
                index = _build_index()
                # An empty table means the data is not loaded yet (or a test flushed it):
                # don't keep that, look again next time.
                if index.by_code:
                    _index = index
    return index


def clear_cache() -> None:
    """Forget the index; the next lookup reads the table again."""
    global _index
    _index = None


def get_region(code: str | None) -> Region | None:
    """The region (or development zone) with this exact code, or None."""
    if not code:
        return None
    return _get_index().by_code.get(code)


def is_region(code: str | None) -> bool:
    """True for a GB/T 2260 province, city or county code we know (not a development zone):
    what a declaration's `return_region` must be."""
    region = get_region(code)
    return region is not None and region.level != RegionLevel.ZONE


def nanning_districts() -> list[Region]:
    """What the declaration's 所在城区 select offers: Nanning's county-level units (its 7
    districts, 4 counties and 横州市, by code) followed by the development zones (管理区域,
    by code). A zone is where its 管委会, not a district, organises the residents."""
    return list(_get_index().nanning_districts)


def is_nanning_district(code: str | None) -> bool:
    """True when `code` is one of `nanning_districts()`: a county/district of Nanning or one of
    its development zones."""
    return bool(code) and code in _get_index().nanning_district_codes


def region_choices_for_return() -> list[tuple[str, str]]:
    """(code, full name) of every province, city and county, sorted by code: the choices for
    a declaration's 返回城市. Development zones are not included (not GB/T 2260 codes)."""
    return list(_get_index().return_choices)


def ancestor_codes(code: str | None) -> tuple[str, ...]:
    """The codes from this region up to its province, self first
    (450103 -> ("450103", "450100", "450000")); () for an unknown code."""
    if not code:
        return ()
    return _get_index().lineage.get(code, ())


def province_of(code: str | None) -> str:
    """The 6-digit code of the province the region lies in (420100 -> "420000"; a Nanning
    development zone -> "450000"); "" for an unknown code."""
    chain = ancestor_codes(code)
    return chain[-1] if chain else ""


def describe(code: str | None, lang: str = "zh-hans") -> str:
    """The region's full name for display. For an English `lang` ("en", "en-us"), the English
    name from the region up to its province ("Qingxiu District, Nanning, Guangxi Zhuang
    Autonomous Region") when every level has one, else the Chinese full name. An unknown
    code is returned as it is."""
    region = get_region(code)
    if region is None:
        return code or ""
    if lang.lower().startswith("en"):
        name_en = _get_index().names_en.get(region.code)
        if name_en:
            return name_en
    return region.full_name or region.name
