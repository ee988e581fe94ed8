"""Rotating the field-encryption key without downtime.

Procedure (documented in `manage.py rotate_field_key --help`):
1. put the new key FIRST in HEALTHCODE_FIELD_KEYS, keeping the old one after it
   ("k2:<new>,k1:<old>"), and deploy: new values are written under k2, old ones still decrypt;
2. run `manage.py rotate_field_key`: it re-encrypts every value still under another key, in
   batches, and reports the rows left under old keys (0 when done);
3. remove the old key from HEALTHCODE_FIELD_KEYS and deploy again.
Blind indexes do not change: their key (HEALTHCODE_BLIND_INDEX_KEY) is a separate one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import transaction
from django.db.models import Q

from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.lib.crypto import current_field_kid, decrypt_field, encrypt_field


@dataclass(frozen=True)
class EncryptedField:
    """A column holding values written by `encrypt_field(..., context=context)`."""

    model: str
    field: str
    context: str


def encrypted_fields() -> list[EncryptedField]:
    """Every encrypted column of the installed apps (grep encrypt_field when adding one)."""
    from healthcode.codes.services import ID_NUMBER_CONTEXT

    fields = [EncryptedField("codes.HealthCode", "id_number_encrypted", ID_NUMBER_CONTEXT)]
    try:
        from healthcode.credit.models import ID_NUMBER_CONTEXT as CREDIT_CONTEXT

        fields.append(
            EncryptedField("credit.DishonestyRecord", "id_number_encrypted", CREDIT_CONTEXT)
        )
    except ImportError:
        pass
    installed = []
    for f in fields:
        try:
            apps.get_model(f.model)._meta.get_field(f.field)
        except LookupError:
            continue
        installed.append(f)
    return installed


def _stale(field: EncryptedField, kid: str) -> Q:
    return ~Q(**{f"{field.field}__startswith": f"{kid}$"}) & ~Q(**{field.field: ""})


def rows_under_old_keys() -> dict[str, int]:
    """Per column ("app.Model.field"), the values not yet under the current key."""
    kid = current_field_kid()
    return {
        f"{f.model}.{f.field}": apps.get_model(f.model)._base_manager.filter(_stale(f, kid)).count()
        for f in encrypted_fields()
    }


def rotate_field_key(
    *, batch_size: int = 500, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Re-encrypt every value still under an older key with the current one, a batch at a
    time (each batch locked and re-checked, so concurrent writes are neither lost nor
    redone). Returns the rows re-encrypted per column."""
    kid = current_field_kid()
    done: dict[str, int] = {}
    for f in encrypted_fields():
        model = apps.get_model(f.model)
        label = f"{f.model}.{f.field}"
        done[label] = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model._base_manager.select_for_update()
                    .filter(_stale(f, kid), pk__gt=last_pk)
                    .order_by("pk")
                    .only("pk", f.field)[:batch_size]
                )
                if not rows:
                    break
                for row in rows:
                    plain = decrypt_field(getattr(row, f.field), context=f.context)
                    model._base_manager.filter(pk=row.pk).update(
                        **{f.field: encrypt_field(plain, context=f.context)}
                    )
                last_pk = rows[-1].pk
            done[label] += len(rows)
            if progress is not None:
                progress(label, done[label])
    if any(done.values()):
        audit(action=AuditAction.FIELD_KEY_ROTATION, detail={"kid": kid, "rows": done})
    return done
