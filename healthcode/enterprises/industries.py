"""GB/T 4754 industry sections and the municipal departments that supervise them, as data
(data/industries.json), loaded once per process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "industries.json"


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_en if lang.lower().startswith("en") else self.name_zh


@dataclass(frozen=True)
class Section:
    code: str
    name_zh: str
    name_en: str
    department: str

    def name(self, lang: str) -> str:
        return self.name_en if lang.lower().startswith("en") else self.name_zh


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Department], dict[str, Section]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    departments = {d["code"]: Department(**d) for d in data["departments"]}
    sections = {s["code"]: Section(**s) for s in data["sections"]}
    for s in sections.values():
        if s.department not in departments:
            raise ValueError(f"industry section {s.code}: unknown department {s.department}")
    return departments, sections


def departments() -> dict[str, Department]:
    return _load()[0]


def sections() -> dict[str, Section]:
    return _load()[1]


def department_for(section: str) -> str:
    """The supervising department's code for an industry section (A–T)."""
    return sections()[section].department


def section_choices() -> list[tuple[str, str]]:
    return [(s.code, f"{s.code} {s.name_zh}") for s in sections().values()]


def department_choices() -> list[tuple[str, str]]:
    return [(d.code, d.name_zh) for d in departments().values()]
