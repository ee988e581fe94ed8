"""Personas for the enterprise module's tests (after healthchecks' hc/test.py):

- `manager` registered and owns `acme` (approved, in 青秀区 450103, manufacturing → 工信局);
- `co_manager` co-manages `acme`;
- `scanner` is an employee of `acme` with scan permission;
- `employee` is a plain employee of `acme` (no scan permission);
- `other_manager` owns `globex`, another approved enterprise (兴宁区 450102, retail → 商务局);
- `district_admin` administers 450103, `industry_admin` the 工信局 (gxj), `city_admin` the city;
- `resident` is an account with no role at all; anonymous callers use `ApiClient()`.
Each persona holds a green health code of their own (name + phone as below).
"""

from __future__ import annotations

import pytest

from healthcode.backoffice.models import AdminRole
from healthcode.codes import services as code_services
from healthcode.enterprises.models import Employee, Enterprise, EnterpriseManager
from healthcode.testing import credit_code, declaration, id_number, make_user

NAMES = {
    "manager": ("13800000101", "王经理"),
    "co_manager": ("13800000102", "李协管"),
    "scanner": ("13800000103", "张扫码"),
    "employee": ("13800000104", "刘员工"),
    "other_manager": ("13800000105", "陈老板"),
    "district_admin": ("13800000106", "黄区管"),
    "industry_admin": ("13800000107", "周行管"),
    "city_admin": ("13800000108", "吴市管"),
    "resident": ("13800000109", "孙居民"),
}


def _person(key: str, seq: int):
    phone, name = NAMES[key]
    user = make_user(phone)
    code_services.declare(
        account=user, data=declaration(name=name, id_number=id_number(seq=seq), phone=phone)
    )
    return user


def _enterprise(name: str, seq: int, district: str, industry: str, department: str, owner):
    enterprise = Enterprise.objects.create(
        name=name,
        credit_code=credit_code(seq),
        district_id=district,
        industry=industry,
        department=department,
        address="南宁市某路 1 号",
        contact_name=owner.phone,
        contact_phone=owner.phone,
        status="approved",
        registered_by=owner,
    )
    EnterpriseManager.objects.create(enterprise=enterprise, user=owner, role="owner")
    return enterprise


@pytest.fixture
def manager(db):
    return _person("manager", 101)


@pytest.fixture
def acme(manager):
    return _enterprise("南宁艾克米制造有限公司", 1, "450103", "C", "gxj", manager)


@pytest.fixture
def co_manager(acme):
    user = _person("co_manager", 102)
    EnterpriseManager.objects.create(enterprise=acme, user=user, role="co_manager")
    return user


@pytest.fixture
def scanner(acme):
    user = _person("scanner", 103)
    phone, name = NAMES["scanner"]
    Employee.objects.create(
        enterprise=acme, name=name, phone=phone, code=user.health_codes.get(), can_scan=True
    )
    return user


@pytest.fixture
def employee(acme):
    user = _person("employee", 104)
    phone, name = NAMES["employee"]
    Employee.objects.create(enterprise=acme, name=name, phone=phone, code=user.health_codes.get())
    return user


@pytest.fixture
def other_manager(db):
    return _person("other_manager", 105)


@pytest.fixture
def globex(other_manager):
    return _enterprise("南宁环球商贸有限公司", 2, "450102", "F", "swj", other_manager)


@pytest.fixture
def district_admin(db):
    user = _person("district_admin", 106)
    AdminRole.objects.create(user=user, kind="district_admin", district_id="450103")
    return user


@pytest.fixture
def industry_admin(db):
    user = _person("industry_admin", 107)
    AdminRole.objects.create(user=user, kind="industry_admin", department="gxj")
    return user


@pytest.fixture
def city_admin(db):
    user = _person("city_admin", 108)
    AdminRole.objects.create(user=user, kind="city_admin")
    return user


@pytest.fixture
def resident(db):
    return _person("resident", 109)
