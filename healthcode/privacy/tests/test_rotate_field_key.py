"""Rotating the field-encryption key without downtime (`manage.py rotate_field_key`)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from healthcode.codes import services as code_services
from healthcode.codes.models import HealthCode
from healthcode.codes.services import ID_NUMBER_CONTEXT
from healthcode.lib.crypto import DecryptionError, decrypt_field
from healthcode.testing import declaration, id_number, make_user

pytestmark = pytest.mark.django_db

OLD = "k1:old-secret-for-the-test"
NEW = "k2:new-secret-for-the-test"


def _numbers() -> dict[int, str]:
    return {
        c.pk: decrypt_field(c.id_number_encrypted, context=ID_NUMBER_CONTEXT)
        for c in HealthCode.objects.all()
    }


def test_it_reencrypts_every_id_number_under_the_new_key():
    """Codes written under k1; with "k2,k1" configured the command moves every row to k2 and
    reports 0 left; with only k2 configured every number still decrypts, and the blind
    indexes did not change."""
    with override_settings(FIELD_ENCRYPTION_KEYS=OLD):
        for seq in range(3):
            user = make_user(f"1380000{seq:04d}")
            code_services.declare(
                account=user,
                data=declaration(
                    name="赵小刚", id_number=id_number(seq=400 + seq), phone=user.phone
                ),
            )
        before = _numbers()
        indexes = set(HealthCode.objects.values_list("id_number_index", flat=True))
    assert all(
        v.startswith("k1$")
        for v in HealthCode.objects.values_list("id_number_encrypted", flat=True)
    )
    with override_settings(FIELD_ENCRYPTION_KEYS=f"{NEW},{OLD}"):
        out = StringIO()
        call_command("rotate_field_key", "--batch-size", "2", stdout=out)
        assert "re-encrypted 3 rows of codes.HealthCode.id_number_encrypted" in out.getvalue()
        assert "0 rows left under old keys" in out.getvalue()
        again = StringIO()
        call_command("rotate_field_key", stdout=again)
        assert "re-encrypted 0 rows" in again.getvalue()
    assert all(
        v.startswith("k2$")
        for v in HealthCode.objects.values_list("id_number_encrypted", flat=True)
    )
    with override_settings(FIELD_ENCRYPTION_KEYS=NEW):
        assert _numbers() == before
    assert set(HealthCode.objects.values_list("id_number_index", flat=True)) == indexes
    with override_settings(FIELD_ENCRYPTION_KEYS=OLD), pytest.raises(DecryptionError):
        _numbers()


def test_it_reports_rows_left_when_the_old_key_is_still_first():
    """Run before the new key is put first, the command re-encrypts nothing and says so."""
    with override_settings(FIELD_ENCRYPTION_KEYS=OLD):
        user = make_user("13800004444")
        code_services.declare(
            account=user, data=declaration(id_number=id_number(seq=444), phone=user.phone)
        )
        out = StringIO()
        call_command("rotate_field_key", stdout=out)
    assert "current key: k1" in out.getvalue()
    assert "0 rows left under old keys" in out.getvalue()
