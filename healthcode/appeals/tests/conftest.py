"""Personas and subjects of the appeals tests, beside the enterprise personas (manager, acme,
district_admin of 450103, industry_admin, city_admin, resident…):

- `reviewer` reviews 青秀区 (450103); `second_reviewer` too (for the assignment tests);
- `other_district_admin` administers 兴宁区 (450102); `other_reviewer` reviews 450102;
- `appellant` holds `fever_code`, a 青秀区 code that is yellow after a declared fever;
- attachments are stored in a temporary folder (`appeals_dir`).
"""

from __future__ import annotations

import struct
import zlib

import pytest

from healthcode.backoffice.models import AdminRole
from healthcode.codes import services as code_services
from healthcode.enterprises.tests.conftest import *  # noqa: F403
from healthcode.testing import declaration, id_number, make_user


def admin(phone: str, kind: str, district: str | None = None):
    user = make_user(phone)
    AdminRole.objects.create(user=user, kind=kind, district_id=district)
    return user


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    """A real, tiny PNG image (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def appeals_dir(settings, tmp_path):
    settings.HEALTHCODE_APPEALS_DIR = tmp_path / "appeals"
    return settings.HEALTHCODE_APPEALS_DIR


@pytest.fixture
def reviewer(db):
    return admin("13800000201", "reviewer", "450103")


@pytest.fixture
def second_reviewer(db):
    return admin("13800000202", "reviewer", "450103")


@pytest.fixture
def other_district_admin(db):
    return admin("13800000203", "district_admin", "450102")


@pytest.fixture
def other_reviewer(db):
    return admin("13800000205", "reviewer", "450102")


@pytest.fixture
def appellant(db):
    return make_user("13900000501")


@pytest.fixture
def record(fever_code, reviewer, second_reviewer):
    """A confirmed dishonesty record about `fever_code` (flagged and confirmed by two
    reviewers), in its appeal window."""
    from healthcode.credit import services as credit

    flagged = credit.flag_false_declaration(
        reviewer=reviewer,
        code=fever_code,
        what="申报未离开南宁，实际曾去外地。",
        fields=["returned_from_elsewhere"],
        evidence="行程记录。",
    )
    return credit.confirm_record(approver=second_reviewer, record=flagged, approve=True)


@pytest.fixture
def fever_code(appellant):
    data = declaration(
        name="蒙小发", id_number=id_number(seq=501), temperature="38.2", symptoms=["fever"]
    )
    return code_services.declare(account=appellant, data=data)
