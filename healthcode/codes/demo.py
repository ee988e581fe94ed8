"""Demo data: residents covering every colour path, created through the same services as
real declarations and check-ins (so their colours, history and audit records are real)."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from healthcode.accounts.models import User
from healthcode.checkins.services import record_checkin
from healthcode.codes import keys, services
from healthcode.codes.choices import ChangeCause, ReviewOutcome
from healthcode.codes.models import HealthCode, Review

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐韦覃蒙莫黎陆农"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉红建国志明海燕宁南邕"
NANNING_DISTRICTS = ["450102", "450103", "450105", "450107", "450108", "450109", "450110", "450126"]
GUANGXI_ELSEWHERE = ["450200", "450300", "450400", "450500", "451000"]
OUTSIDE = ["440100", "440300", "440600", "430100", "350200", "310000", "110000", "510100"]
HUBEI = ["420100", "420500", "420600", "421000", "420000"]
STREETS = ["民族大道", "朝阳路", "友爱路", "大学东路", "五象大道", "江南路", "秀厢大道", "青秀路"]


def make_id_number(rng: random.Random, region: str, born: date) -> str:
    """A valid GB 11643 number (region, birth date, sequence, check digit). Where the region
    code did not exist yet in the birth year (python-stdnum checks that), the number is
    issued under Nanning's city code 450100 instead, as older numbers were."""
    for prefix in (region, "450100", "450000"):
        body = f"{prefix}{born:%Y%m%d}{rng.randint(0, 999):03d}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):
            return number
    raise ValueError(f"no valid ID number for {region} born {born}")


@dataclass(frozen=True)
class Persona:
    kind: str
    describe: str


PERSONAS = {
    "local": Persona("local", "一直在南宁 → 绿码"),
    "guangxi": Persona("guangxi", "自广西区内（柳州等）返邕 → 绿码"),
    "outside": Persona("outside", "自广东等区外返邕 → 黄码"),
    "hubei": Persona("hubei", "自湖北返邕 → 红码"),
    "contact": Persona("contact", "接触确诊病例 → 红码"),
    "fever": Persona("fever", "打卡发热 → 黄码"),
    "reviewed": Persona("reviewed", "区外返邕，审核通过且观察期满 → 绿码"),
}


def _declaration(rng: random.Random, kind: str, today: date) -> dict[str, Any]:
    born = date(rng.randint(1945, 2015), rng.randint(1, 12), rng.randint(1, 28))
    district = rng.choice(NANNING_DISTRICTS)
    data: dict[str, Any] = {
        "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
        "id_number": make_id_number(rng, district, born),
        "address": f"南宁市{rng.choice(STREETS)}{rng.randint(1, 300)}号",
        "district": district,
        "returned_to_work": rng.random() < 0.6,
        "employer": "",
        "returned_from_elsewhere": False,
        "contact_with_case": False,
        "symptoms": [],
        "temperature": "36.5",
        "attestation": True,
    }
    if data["returned_to_work"]:
        data["employer"] = rng.choice(
            [
                "南宁轨道交通集团",
                "广西北部湾银行",
                "南宁百货大楼",
                "云宝宝大数据产业发展有限责任公司",
            ]
        )
    if kind in {"guangxi", "outside", "hubei", "reviewed"}:
        region = {
            "guangxi": GUANGXI_ELSEWHERE,
            "outside": OUTSIDE,
            "hubei": HUBEI,
            "reviewed": OUTSIDE,
        }[kind]
        data["returned_from_elsewhere"] = True
        data["return_region"] = rng.choice(region)
        back = 20 if kind == "reviewed" else rng.randint(0, 10)
        data["arrival_date"] = (today - timedelta(days=back)).isoformat()
    if kind == "contact":
        data["contact_with_case"] = True
        data["contact_date"] = (today - timedelta(days=rng.randint(1, 10))).isoformat()
    return data


@transaction.atomic
def seed_demo(*, residents: int = 300, seed: int = 2020) -> list[tuple[str, str, str]]:
    """Create `residents` demo residents (idempotent per phone). Returns (phone, persona,
    colour) of one login per persona, to print."""
    rng = random.Random(seed)
    today = timezone.localdate()
    kinds = list(PERSONAS)
    logins: dict[str, tuple[str, str, str]] = {}
    for i in range(residents):
        kind = kinds[i % len(kinds)]
        phone = f"139{i:08d}"
        account, _ = User.objects.get_or_create(phone=phone)
        if HealthCode.objects.filter(account=account).exists():
            code = HealthCode.objects.filter(account=account).first()
            logins.setdefault(kind, (phone, PERSONAS[kind].describe, code.get_color_display()))
            continue
        data = _declaration(rng, kind, today)
        data["phone"] = phone
        code = services.declare(account=account, data=data)
        if kind == "fever":
            record_checkin(
                code=code,
                actor=account,
                data={
                    "temperature": "38.2",
                    "symptoms": ["fever", "cough"],
                    "in_nanning": True,
                    "new_contact": False,
                },
            )
        elif kind == "reviewed":
            _backfill_checkins(code, days=20, today=today)
            Review.objects.create(code=code, outcome=ReviewOutcome.APPROVE, note="演示：审核通过")
            services.redecide(code, cause=ChangeCause.REVIEW)
        elif rng.random() < 0.5:
            record_checkin(
                code=code,
                actor=account,
                data={
                    "temperature": "36.6",
                    "symptoms": [],
                    "in_nanning": True,
                    "new_contact": False,
                },
            )
        if i % 10 == 0 and kind == "local":
            # A family member (an elderly parent) held by the same account.
            parent = _declaration(rng, "local", today)
            parent["phone"] = phone
            parent["name"] = data["name"][0] + "老" + rng.choice(GIVEN)
            services.declare(account=account, data=parent)
        code.refresh_from_db()
        logins.setdefault(kind, (phone, PERSONAS[kind].describe, code.get_color_display()))
    result = [logins[k] for k in kinds if k in logins]
    return result + _seed_enterprise(residents=residents)


DEMO_CREDIT_CODE = "91450100MA5K00012J"


def _seed_enterprise(*, residents: int) -> list[tuple[str, str, str]]:
    """An approved enterprise whose staff are the first demo residents, a scanner, a day of
    health attendance and a submitted daily report; a city and a district admin. All through
    the same services as the pages."""
    from healthcode.backoffice.models import AdminRole
    from healthcode.backoffice.services import grant_admin_role
    from healthcode.enterprises import reports
    from healthcode.enterprises import services as enterprise_services
    from healthcode.enterprises.attendance import record_attendance
    from healthcode.enterprises.models import Employee, Enterprise

    if not AdminRole.objects.filter(user__phone="13800009000").exists():
        grant_admin_role(phone="13800009000", kind="city_admin", organisation="市大数据发展局")
        grant_admin_role(
            phone="13800009001", kind="district_admin", district="450103",
            organisation="青秀区人民政府",
        )  # fmt: skip
    city_admin = User.objects.get(phone="13800009000")
    # Back-office logins need a password and an SMS code: a fresh random password per run,
    # printed with the logins (never a password in the repository).
    passwords = {}
    for phone in ("13800009000", "13800009001"):
        passwords[phone] = secrets.token_urlsafe(9)
        admin = User.objects.get(phone=phone)
        admin.set_password(passwords[phone])
        admin.save(update_fields=["password"])
    logins = [
        ("13800009000", f"管理系统 /backoffice/login 密码 {passwords['13800009000']}", "市级管理员"),
        ("13800009001", f"管理系统 /backoffice/login 密码 {passwords['13800009001']}", "青秀区管理员"),
    ]
    if residents < 14:
        return logins
    existing = Enterprise.objects.filter(credit_code=DEMO_CREDIT_CODE).first()
    if existing is not None:
        return logins + _enterprise_logins(existing)
    manager = User.objects.get(phone="139" + "0" * 8)
    enterprise = enterprise_services.register_enterprise(
        actor=manager,
        data={
            "name": "南宁示范制造有限公司",
            "credit_code": DEMO_CREDIT_CODE,
            "district": "450103",
            "industry": "C",
            "address": "南宁市青秀区民族大道 100 号",
            "contact_name": "示范经理",
        },
    )
    enterprise = enterprise_services.decide_enterprise(
        actor=city_admin, enterprise=enterprise, approve=True
    )
    staff = (
        HealthCode.objects.filter(relation="self")
        .exclude(account=manager)
        .order_by("pk")[: min(residents, 40)]
    )
    for i, code in enumerate(staff):
        employee, _ = enterprise_services.add_employee(
            actor=manager,
            enterprise=enterprise,
            data={
                "name": code.name,
                "phone": code.phone,
                "department_name": ["装配车间", "仓储部", "行政部"][i % 3],
                "returned_to_work": i % 2 == 0,
                "returned_on": "2020-02-24" if i % 2 == 0 else "",
            },
        )
        if i == 0:
            enterprise_services.set_scan_permission(actor=manager, employee=employee, allowed=True)
    scanner = Employee.objects.get(enterprise=enterprise, can_scan=True)
    scanner_account = User.objects.get(phone=scanner.phone)
    for code in staff[1:11]:
        payload, _ = keys.issue_token(code)
        record_attendance(
            scanner=scanner_account,
            enterprise_id=enterprise.pk,
            payload=payload,
            temperature="36.5",
            symptoms=[],
        )
    reports.submit_report(actor=manager, enterprise=enterprise, day=timezone.localdate())
    return logins + _enterprise_logins(enterprise)


def _enterprise_logins(enterprise: Any) -> list[tuple[str, str, str]]:
    manager = enterprise.managers.get(role="owner").user
    scanner = enterprise.employees.filter(can_scan=True).first()
    logins = [(manager.phone, f"{enterprise.name}：员工、考勤、实时动态、每日上报", "企业管理员")]
    if scanner is not None:
        logins.append((scanner.phone, "一码通城 扫一扫", "企业扫码人员"))
    return logins


def _backfill_checkins(code: HealthCode, *, days: int, today: date) -> None:
    """Daily symptom-free check-ins for the past `days` days, through the check-in service."""
    now = timezone.now()
    for d in range(days, 0, -1):
        record_checkin(
            code=code,
            actor=code.account,
            now=now - timedelta(days=d),
            data={"temperature": "36.5", "symptoms": [], "in_nanning": True, "new_contact": False},
        )
