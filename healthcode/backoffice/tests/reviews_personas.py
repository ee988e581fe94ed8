"""Personas and subjects for the review tests (imported with `import *` by the test_reviews_*
modules, beside the shared conftest's enterprise personas):

- `reviewer` reviews 青秀区 (450103); `requester` is a second reviewer of 青秀区 who asked for
  a manual colour (`pending_request`);
- `other_district_admin` administers 兴宁区 (450102);
- `red_code`: a 青秀区 resident back from Hubei 20 days ago — red, green once approved;
- `green_code`: a 青秀区 resident who never left — the target of a manual colour;
- `pending_request`: `requester`'s pending manual red for `red_code`;
- `sms_locmem`: SMS kept in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from healthcode.accounts import sms
from healthcode.backoffice.models import AdminRole
from healthcode.codes import reviews
from healthcode.codes import services as code_services
from healthcode.codes.models import HealthCode, ManualColorRequest
from healthcode.testing import declaration, id_number, make_user

PERSONAS = [
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "reviewer",
    "manager",
    "resident",
    "anonymous",
]


def admin(phone: str, kind: str, district: str | None = None):
    user = make_user(phone)
    AdminRole.objects.create(user=user, kind=kind, district_id=district)
    return user


def resident_code(seq: int, *, days_ago: int | None = None, district: str = "450103"):
    """A resident's code: back from Hubei `days_ago` days ago, or never left."""
    user = make_user(f"1390000{seq:04d}")
    data = declaration(name="钱小红", id_number=id_number(seq=seq), district=district)
    if days_ago is not None:
        arrival = timezone.localdate() - timedelta(days=days_ago)
        data.update(
            returned_from_elsewhere=True, return_region="420100", arrival_date=arrival.isoformat()
        )
    return code_services.declare(account=user, data=data)


@pytest.fixture
def reviewer(db):
    return admin("13800000201", "reviewer", "450103")


@pytest.fixture
def requester(db):
    return admin("13800000204", "reviewer", "450103")


@pytest.fixture
def other_district_admin(db):
    return admin("13800000203", "district_admin", "450102")


@pytest.fixture
def red_code(db) -> HealthCode:
    return resident_code(401, days_ago=20)


@pytest.fixture
def green_code(db) -> HealthCode:
    return resident_code(402)


@pytest.fixture
def pending_request(requester, red_code) -> ManualColorRequest:
    return reviews.request_manual_color(
        requester=requester, code=red_code, color="red", reason_code="epi_close_contact"
    )


@pytest.fixture
def sms_locmem(settings) -> Iterator[list[dict[str, str]]]:
    settings.HEALTHCODE_SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()
