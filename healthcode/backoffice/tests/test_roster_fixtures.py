"""Personas and data for the roster tests (imported with `import *` by the test_roster_*
modules, beside the shared conftest's enterprise personas). No tests here.

- `other_district_admin` administers 兴宁区 (450102); `reviewer` reviews 青秀区 (450103);
- `world`: residents of both districts with every colour, travel facts and employers:

  | key      | name   | district | colour | facts                                            |
  | zhao     | 赵小刚 | 450103   | red    | back from Wuhan 2020-02-10                        |
  | qian     | 钱丽丽 | 450103   | yellow | back from Shenzhen 2020-02-15, returned to work,  |
  |          |        |          |        | declared employer 南宁绿城物流有限公司               |
  | sun      | 孙明   | 450102   | red    | back from Wuhan 2020-02-12                        |
  | li       | 李芳芳 | 450102   | green  | employee of acme (青秀区, 工信局), returned to work |
  | zhou     | 周大伟 | 450102   | green  | employee of globex (兴宁区, 商务局)                  |

  plus the personas' own green codes in 450103 (the employee and scanner of acme among them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from healthcode.backoffice.models import AdminRole
from healthcode.codes import services as code_services
from healthcode.codes.models import HealthCode
from healthcode.enterprises.models import Employee
from healthcode.testing import declaration, id_number, make_user

RESIDENTS: dict[str, dict[str, Any]] = {
    "zhao": {
        "phone": "13900000001",
        "name": "赵小刚",
        "seq": 201,
        "district": "450103",
        "returned_from_elsewhere": True,
        "return_region": "420100",
        "arrival_date": "2020-02-10",
    },
    "qian": {
        "phone": "13900000002",
        "name": "钱丽丽",
        "seq": 202,
        "district": "450103",
        "returned_from_elsewhere": True,
        "return_region": "440300",
        "arrival_date": "2020-02-15",
        "returned_to_work": True,
        "employer": "南宁绿城物流有限公司",
    },
    "sun": {
        "phone": "13900000003",
        "name": "孙明",
        "seq": 203,
        "district": "450102",
        "returned_from_elsewhere": True,
        "return_region": "420100",
        "arrival_date": "2020-02-12",
    },
    "li": {
        "phone": "13900000004",
        "name": "李芳芳",
        "seq": 204,
        "district": "450102",
        "returned_to_work": True,
        "employer": "自填单位",
    },
    "zhou": {"phone": "13900000005", "name": "周大伟", "seq": 205, "district": "450102"},
}


def resident_code(key: str) -> HealthCode:
    spec = dict(RESIDENTS[key])
    phone, seq = spec.pop("phone"), spec.pop("seq")
    account = make_user(phone)
    return code_services.declare(
        account=account,
        data=declaration(
            id_number=id_number(region=spec["district"], seq=seq), phone=phone, **spec
        ),
    )


@pytest.fixture
def other_district_admin(db):
    user = make_user("13800000120")
    AdminRole.objects.create(user=user, kind="district_admin", district_id="450102")
    return user


@pytest.fixture
def reviewer(db):
    user = make_user("13800000121")
    AdminRole.objects.create(user=user, kind="reviewer", district_id="450103")
    return user


@pytest.fixture
def world(acme, globex, employee, scanner) -> dict[str, HealthCode]:
    """The residents above, their codes by key; li works at acme, zhou at globex."""
    codes = {key: resident_code(key) for key in RESIDENTS}
    Employee.objects.create(
        enterprise=acme, name="李芳芳", phone="13900000004", code=codes["li"], returned_to_work=True
    )
    Employee.objects.create(
        enterprise=globex, name="周大伟", phone="13900000005", code=codes["zhou"]
    )
    assert (codes["zhao"].color, codes["qian"].color, codes["sun"].color) == (
        "red",
        "yellow",
        "red",
    )
    return codes


def full_id_number(key: str) -> str:
    spec = RESIDENTS[key]
    return id_number(region=spec["district"], seq=spec["seq"])


def arrival(key: str) -> date | None:
    value = RESIDENTS[key].get("arrival_date")
    return date.fromisoformat(value) if value else None
