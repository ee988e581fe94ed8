"""Personas for the privacy tests: the enterprise module's, plus a district admin of another
district (450102) and a reviewer of 450103."""

from __future__ import annotations

import pytest

from healthcode.backoffice.models import AdminRole
from healthcode.enterprises.tests.conftest import *  # noqa: F403
from healthcode.enterprises.tests.conftest import NAMES, _person

NAMES.setdefault("other_district_admin", ("13800000110", "郑区管"))
NAMES.setdefault("reviewer", ("13800000111", "冯审核"))


@pytest.fixture
def other_district_admin(db):
    user = _person("other_district_admin", 110)
    AdminRole.objects.create(user=user, kind="district_admin", district_id="450102")
    return user


@pytest.fixture
def reviewer(db):
    user = _person("reviewer", 111)
    AdminRole.objects.create(user=user, kind="reviewer", district_id="450103")
    return user


@pytest.fixture(autouse=True)
def _privacy_files(settings, tmp_path):
    """Reports, job files and the SMS file of each test live in its own folder."""
    settings.HEALTHCODE_PRIVACY_REPORT_DIR = str(tmp_path / "privacy")
    settings.HEALTHCODE_JOBS_DIR = str(tmp_path / "jobs")
    settings.HEALTHCODE_SMS_BACKEND = "file"
    settings.HEALTHCODE_SMS_FILE = str(tmp_path / "sms.jsonl")
