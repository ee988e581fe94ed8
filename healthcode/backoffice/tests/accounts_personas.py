"""Personas and helpers for the back-office account tests (imported with `import *` by the
test_accounts_*, test_audit_* and test_enterprises* modules, beside the shared conftest's
enterprise personas):

- `other_district_admin` administers 兴宁区 (450102), not 青秀区;
- `qingxiu_reviewer` is a reviewer of 青秀区 (450103);
- `sms_outbox`: SMS kept in memory (autouse), with `last_code(phone)` to read a code;
- `fast_password_hasher` (autouse): MD5 hashing, for speed;
- `PASSWORD`: a password that passes the validators; `with_password(user)` sets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from healthcode.accounts import sms
from healthcode.backoffice.models import AdminRole
from healthcode.testing import make_user

PASSWORD = "Nanning-2020-backoffice"


def with_password(user, password: str = PASSWORD):
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def last_code(phone: str) -> str:
    """The 6-digit code of the latest in-memory SMS to `phone`."""
    texts = [m["text"] for m in sms.outbox if m["to"] == phone]
    assert texts, f"no SMS to {phone}"
    return re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", texts[-1]).group(1)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    """PBKDF2 is slow on purpose; the tests need no strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def sms_outbox(settings) -> Iterator[list[dict[str, str]]]:
    settings.HEALTHCODE_SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def other_district_admin(db):
    user = make_user("13800000110")
    AdminRole.objects.create(user=user, kind="district_admin", district_id="450102")
    return user


@pytest.fixture
def qingxiu_reviewer(db):
    user = make_user("13800000111")
    AdminRole.objects.create(user=user, kind="reviewer", district_id="450103")
    return user
