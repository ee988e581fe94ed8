"""Personas for the notification tests: the enterprise personas (manager, acme, employee,
admins, resident…), a reviewer of 青秀区 (450103) working for an organisation, a district
admin of 兴宁区 (450102), a red code of 青秀区 (back from Hubei 20 days ago) and SMS kept in
memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from healthcode.accounts import sms
from healthcode.backoffice.models import AdminRole
from healthcode.codes import services as code_services
from healthcode.codes.models import HealthCode
from healthcode.enterprises.tests.conftest import *  # noqa: F403
from healthcode.testing import declaration, id_number, make_user

REVIEWER_ORGANISATION = "青秀区新冠肺炎疫情防控指挥部"


@pytest.fixture
def reviewer(db):
    user = make_user("13800000201")
    AdminRole.objects.create(
        user=user, kind="reviewer", district_id="450103", organisation=REVIEWER_ORGANISATION
    )
    return user


@pytest.fixture
def other_district_admin(db):
    user = make_user("13800000203")
    AdminRole.objects.create(
        user=user, kind="district_admin", district_id="450102", organisation="兴宁区疫情防控指挥部"
    )
    return user


@pytest.fixture
def red_code(db) -> HealthCode:
    """A 青秀区 resident back from Hubei 20 days ago: red, green once approved."""
    user = make_user("13900000401")
    arrival = timezone.localdate() - timedelta(days=20)
    data = declaration(
        name="钱小红",
        id_number=id_number(seq=401),
        returned_from_elsewhere=True,
        return_region="420100",
        arrival_date=arrival.isoformat(),
    )
    return code_services.declare(account=user, data=data)


@pytest.fixture
def sms_locmem(settings) -> Iterator[list[dict[str, str]]]:
    settings.HEALTHCODE_SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()
