"""The one place where a code's facts and colour change.

Every event that changes a code's facts (declaration, check-in, review, time) ends in
`redecide`, which asks the pure rules engine for a decision, stores it, writes a history
row when the colour or its reasons change, and audits the change. Work over many codes (the
time-based `sweep`, `rederive_all` after a rule-set change, `redecide_many`) does exactly
the same in batches (codes/bulk.py): a few queries per batch of codes, never per code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.codes import bulk, rules
from healthcode.codes.choices import ChangeCause, Relation, RequestStatus
from healthcode.codes.forms import DeclarationForm
from healthcode.codes.models import ColorChange, HealthCode
from healthcode.codes.signals import code_declared
from healthcode.lib.crypto import blind_index, encrypt_field
from healthcode.lib.masking import mask_id_number, mask_name
from healthcode.regions import services as regions

log = logging.getLogger(__name__)

# Codes per transaction in batch re-derivations (sweep, rederive_all, redecide_many).
REDERIVE_BATCH = 2000

ID_NUMBER_CONTEXT = "healthcode.id_number"


def rule_set_in_force() -> rules.RuleSet:
    """The rule set that decides colours now: the latest published RuleSetVersion, else the
    packaged default (settings.HEALTHCODE_RULE_SET); cached per process with a cheap staleness
    check (see codes/rulesets_store.py)."""
    # Imported when first needed: the store pulls in jobs, audit and permissions.
    from healthcode.codes import rulesets_store

    return rulesets_store.rule_set_in_force()


def id_number_index(id_number: str) -> str:
    return blind_index(id_number, purpose="id_number")


# --- Facts and decisions -------------------------------------------------------------------


def facts_for(code: HealthCode) -> rules.Facts:
    """Everything the rules engine needs about one code, from the database (built by
    bulk.facts_from_rows, like the facts of a batch)."""
    declared = (
        code.returned_from_elsewhere,
        code.return_region_id,
        code.arrival_date,
        code.contact_with_case,
        code.contact_date,
        code.symptoms,
        code.temperature,
        code.attested_at,
    )
    if code.pk is None:  # a code being declared has no history yet
        return bulk.facts_from_rows(declared)
    # One query per relation, or none when the caller prefetched it; batches load many
    # codes' rows at once (bulk.load_batch).
    prefetched = getattr(code, "_prefetched_objects_cache", {})
    checkins: Any
    if "checkins" in prefetched:
        checkins = [
            (c.day, c.temperature, c.symptoms, c.in_nanning, c.new_contact, c.updated_at)
            for c in sorted(prefetched["checkins"], key=lambda c: c.day)
        ]
    else:
        checkins = code.checkins.order_by("day").values_list(
            "day", "temperature", "symptoms", "in_nanning", "new_contact", "updated_at"
        )
    reviews: Any
    if "reviews" in prefetched:
        reviews = [
            (r.outcome, r.decided_at, r.note)
            for r in sorted(prefetched["reviews"], key=lambda r: (r.decided_at, r.pk))
        ]
    else:
        reviews = code.reviews.order_by("decided_at", "id").values_list(
            "outcome", "decided_at", "note"
        )
    # Official-list entries not withdrawn (dated by their import) and confirmed manual
    # colours, in the models' default orderings.
    entries: Any
    if "official_entries" in prefetched:
        entries = [
            (e.kind, e.listed_on, e.batch.imported_at)
            for e in prefetched["official_entries"]
            if e.withdrawn_at is None
        ]
    else:
        entries = code.official_entries.filter(withdrawn_at__isnull=True).values_list(
            "kind", "listed_on", "batch__imported_at"
        )
    manual: Any
    if "manual_requests" in prefetched:
        manual = [
            (r.color, r.reason_code, r.decided_at)
            for r in prefetched["manual_requests"]
            if r.status == RequestStatus.APPROVED and r.decided_at is not None
        ]
    else:
        manual = code.manual_requests.filter(
            status=RequestStatus.APPROVED, decided_at__isnull=False
        ).values_list("color", "reason_code", "decided_at")
    return bulk.facts_from_rows(declared, checkins, reviews, entries, manual)


def redecide(
    code: HealthCode, *, cause: str, now: datetime | None = None, actor: Any = None
) -> HealthCode:
    """Re-derive one code's colour and store it; record a history row and an audit record
    when the colour or the reasons change. Idempotent: the same facts and time change nothing.
    The caller holds the transaction (and, where races matter, a row lock on the code)."""
    now = now or timezone.now()
    rule_set = rule_set_in_force()
    decided = rules.decide(facts_for(code), rule_set, now)
    decision = decided.to_json()
    old_color = code.color
    changed_color = decision["color"] != old_color
    changed_reasons = bulk.reason_rules(decision["reasons"]) != bulk.reason_rules(
        code.reasons or []
    )
    fields = {
        "color": decision["color"],
        "reasons": decision["reasons"],
        "path_to_green": decision["path_to_green"],
        "rule_set_id": rule_set.id,
        "rule_set_version": rule_set.version,
        # The next moment the stored decision changes by time alone: a colour change, or a
        # step of the path to green becoming done (so stored paths never go stale).
        "next_change_at": decided.next_update_at or decided.next_change_at,
    }
    if changed_color:
        fields["color_since"] = now
    for name, value in fields.items():
        setattr(code, name, value)
    code.updated_at = now
    if code.pk is None:
        return code  # the caller saves a new code and records its first colour
    code.save(update_fields=[*fields, "updated_at"])
    if changed_color or changed_reasons:
        _record_change(code, old_color, cause=cause, now=now, actor=actor)
    return code


def _record_change(
    code: HealthCode, old_color: str, *, cause: str, now: datetime, actor: Any
) -> None:
    ColorChange.objects.create(
        code=code,
        at=now,
        color_from=old_color or "",
        color_to=code.color,
        reasons=code.reasons,
        rule_set_id=code.rule_set_id,
        rule_set_version=code.rule_set_version,
        cause=cause,
    )
    audit(
        action=AuditAction.COLOR_CHANGE,
        actor=actor,
        subject=code,
        detail=bulk.change_detail(
            old_color=old_color,
            color=code.color,
            cause=cause,
            reasons=code.reasons,
            rule_set=f"{code.rule_set_id}@{code.rule_set_version}",
        ),
    )


def current(code: HealthCode, *, now: datetime | None = None) -> HealthCode:
    """The code with its colour as of now: a time-based change that is due but not yet swept
    is applied first, so a resident or scanner never sees a stale colour."""
    now = now or timezone.now()
    if code.next_change_at is not None and code.next_change_at <= now:
        with transaction.atomic():
            locked = HealthCode.objects.select_for_update().get(pk=code.pk)
            if locked.next_change_at is not None and locked.next_change_at <= now:
                redecide(locked, cause=ChangeCause.SWEEP, now=now)
            return locked
    return code


def sweep(
    *, now: datetime | None = None, batch_size: int = REDERIVE_BATCH, workers: int | None = None
) -> int:
    """Re-derive every code whose time-based change is due (next_change_at <= now), in
    batches (bulk.Rederivation: a few queries per batch, never per code), each batch's rows
    locked and checked again under the lock. Cost grows with the codes that are due, not with
    the population; running it twice changes nothing the second time. Returns how many codes
    were re-derived."""
    now = now or timezone.now()
    run = bulk.Rederivation(rule_set=rule_set_in_force(), cause=ChangeCause.SWEEP)

    def batches() -> Iterator[QuerySet[HealthCode]]:
        last_pk = 0
        while True:
            # The due codes by the index on next_change_at; locked by key, a code no longer
            # due by then (a check-in re-derived it meanwhile) is left alone.
            pks = list(
                HealthCode.objects.filter(next_change_at__lte=now, pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                return
            yield HealthCode.objects.filter(pk__in=pks, next_change_at__lte=now)
            last_pk = pks[-1]

    run.run(batches(), now=now, workers=workers or bulk.default_workers())
    return run.examined


def redecide_many(
    pks: Iterable[int] | QuerySet[HealthCode],
    *,
    cause: str,
    now: datetime | None = None,
    actor: Any = None,
    batch_size: int = REDERIVE_BATCH,
    progress: Any = None,
    workers: int | None = None,
) -> tuple[int, int]:
    """`redecide` for many codes (keys, or a queryset of codes), batch by batch: each batch
    in one transaction with its rows locked, a constant number of queries, and exactly the
    decisions, history rows, audit records and notifications `redecide` would make code by
    code (codes whose stored decision is unchanged are not written). `progress` (jobs'
    Progress) gets the total and is advanced per batch. Returns (codes re-derived, codes
    whose colour changed)."""
    if isinstance(pks, QuerySet):
        keys = list(pks.order_by("pk").values_list("pk", flat=True))
    else:
        keys = sorted(set(pks))
    run = bulk.Rederivation(rule_set=rule_set_in_force(), cause=cause, actor=actor)
    if progress is not None:
        progress.set_total(len(keys))
    run.run(
        (
            HealthCode.objects.filter(pk__in=keys[start : start + batch_size])
            for start in range(0, len(keys), batch_size)
        ),
        now=now,
        workers=workers or bulk.default_workers(),
        advance=progress.advance if progress is not None else None,
    )
    return run.examined, run.changed


def rederive_all(
    *,
    cause: str,
    now: datetime | None = None,
    actor: Any = None,
    batch_size: int = REDERIVE_BATCH,
    progress: Any = None,
    workers: int | None = None,
) -> tuple[int, int]:
    """Re-derive every code with the rule set in force (after a rule-set change), in batches
    by primary key, each in its own transaction with its rows locked (bulk.Rederivation),
    in two threads on PostgreSQL. Each batch is decided at its own time unless `now` is
    given. `progress` (jobs' Progress) gets the total and is advanced per batch. Returns
    (codes re-derived, codes whose colour changed)."""
    run = bulk.Rederivation(rule_set=rule_set_in_force(), cause=cause, actor=actor)
    if progress is not None:
        progress.set_total(HealthCode.objects.count())

    def batches() -> Iterator[QuerySet[HealthCode]]:
        last_pk = 0
        while True:
            pks = list(
                HealthCode.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                return
            # By key range: the batch's rows and any code inserted among them since.
            yield HealthCode.objects.filter(pk__gte=pks[0], pk__lte=pks[-1])
            last_pk = pks[-1]

    run.run(
        batches(),
        now=now,
        workers=workers or bulk.default_workers(),
        advance=progress.advance if progress is not None else None,
    )
    return run.examined, run.changed


# --- Declaring a code -----------------------------------------------------------------------


def declare(*, account: Any, data: dict[str, Any], ip: str | None = None) -> HealthCode:
    """Apply for a health code (申领) for the account holder or a family member.

    Validates the declaration (raises ValidationError with field messages, saving nothing),
    stores the ID number encrypted with a blind index, derives the first colour and audits.
    """
    form = DeclarationForm(data=data, account_phone=account.phone)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    clean = form.cleaned_data
    with transaction.atomic():
        # Lock the account row so two concurrent declarations cannot pass the cap together.
        get_user_model().objects.select_for_update().filter(pk=account.pk).first()
        held = HealthCode.objects.filter(account=account)
        has_self = held.filter(relation=Relation.SELF).exists()
        relation = (
            Relation.SELF if not has_self and clean["phone"] == account.phone else Relation.FAMILY
        )
        family = held.filter(relation=Relation.FAMILY).count()
        if relation == Relation.FAMILY and family >= settings.HEALTHCODE_FAMILY_CAP:
            raise ValidationError(
                {
                    "__all__": [
                        _("一个账号最多可为 %(cap)d 位家庭成员申领健康码。")
                        % {"cap": settings.HEALTHCODE_FAMILY_CAP}
                    ]
                }
            )
        index = id_number_index(clean["id_number"])
        if HealthCode.objects.filter(id_number_index=index).exists():
            raise ValidationError({"id_number": [_("该身份证号已申领健康码，每人只能有一个健康码。")]})
        now = timezone.now()
        code = HealthCode(
            account=account,
            relation=relation,
            name=clean["name"],
            id_number_encrypted=encrypt_field(clean["id_number"], context=ID_NUMBER_CONTEXT),
            id_number_index=index,
            id_number_masked=mask_id_number(clean["id_number"]),
            phone=clean["phone"],
            address=clean["address"],
            district_id=clean["district"],
            returned_to_work=clean["returned_to_work"],
            employer=clean.get("employer", "").strip(),
            returned_from_elsewhere=clean["returned_from_elsewhere"],
            return_region_id=clean.get("return_region") or None,
            arrival_date=clean.get("arrival_date"),
            contact_with_case=clean["contact_with_case"],
            contact_date=clean.get("contact_date"),
            symptoms=sorted(clean.get("symptoms") or []),
            temperature=clean.get("temperature"),
            attested_at=now,
            created_at=now,
            updated_at=now,
        )
        redecide(code, cause=ChangeCause.DECLARATION, now=now, actor=account)
        try:
            with transaction.atomic():
                code.save()
        except IntegrityError:
            raise ValidationError(
                {"id_number": [_("该身份证号已申领健康码，每人只能有一个健康码。")]}
            ) from None
        audit(
            action=AuditAction.DECLARATION,
            actor=account,
            subject=code,
            ip=ip,
            detail={
                "relation": relation,
                "name": mask_name(code.name),
                "district": code.district_id,
                "returned_from_elsewhere": code.returned_from_elsewhere,
                "return_region": code.return_region_id,
                "arrival_date": code.arrival_date.isoformat() if code.arrival_date else None,
                "contact_with_case": code.contact_with_case,
                "symptoms": code.symptoms,
                "attested_at": now.isoformat(),
            },
        )
        _record_change(code, "", cause=ChangeCause.DECLARATION, now=now, actor=account)
        code_declared.send(sender=HealthCode, code=code)
    return code


# --- Presenting a code ----------------------------------------------------------------------


def _lang_text(item: dict[str, Any]) -> str:
    lang = (get_language() or "zh-hans").lower()
    return item.get("text_en") if lang.startswith("en") else item.get("text_zh")


def present(code: HealthCode) -> dict[str, Any]:
    """The code as the API and pages show it: masked name, colour, reasons and path in the
    request's language."""
    return {
        "id": str(code.public_id),
        "name": mask_name(code.name),
        "relation": code.relation,
        "color": code.color,
        "reasons": [{"rule": r["rule"], "text": _lang_text(r)} for r in code.reasons],
        "path_to_green": [
            {
                "rule": s["rule"],
                "text": _lang_text(s),
                "from_date": s.get("from_date"),
                "done": bool(s.get("done")),
            }
            for s in code.path_to_green
        ],
        "district": code.district_id,
        "district_name": regions.describe(code.district_id, get_language() or "zh-hans"),
        "color_since": code.color_since,
        "rule_set": f"{code.rule_set_id}@{code.rule_set_version}",
        "updated_at": code.updated_at,
    }


# --- Verifying a scanned token --------------------------------------------------------------


def verify_scan(
    *, payload: str, scanner: Any, ip: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Verify a scanned QR token online: the signature and expiry, then the authoritative
    current colour of the code (which may differ from the colour in the token). Records the
    scan whatever the result. Never raises for a bad token: it answers valid=false and why."""
    from healthcode.checkins.models import CheckIn
    from healthcode.codes import keys
    from healthcode.codes.models import Scan
    from healthcode.lib.codec import TokenError

    now = now or timezone.now()
    scanner_obj = scanner if getattr(scanner, "is_authenticated", False) else None
    try:
        claims = keys.verify_token(payload, now=now)
    except TokenError as exc:
        Scan.objects.create(scanner=scanner_obj, at=now, result=exc.code, ip=ip)
        return {"valid": False, "error": exc.code, "detail": str(token_error_text(exc.code))}
    # By the unique key alone: no join (present() names the district from the regions
    # cache) and no ORDER BY (first() would sort by pk).
    code = next(iter(HealthCode.objects.filter(public_id=claims.code_id)[:1]), None)
    if code is None:
        Scan.objects.create(scanner=scanner_obj, at=now, result="revoked", ip=ip)
        return {"valid": False, "error": "revoked", "detail": str(token_error_text("revoked"))}
    code = current(code, now=now)
    Scan.objects.create(scanner=scanner_obj, code=code, at=now, result="valid", color=code.color, ip=ip)
    shown = present(code)
    today = timezone.localdate(now)
    return {
        "valid": True,
        "id": shown["id"],
        "color": code.color,
        "token_color": claims.color,
        "name": shown["name"],
        "reasons": shown["reasons"],
        "path_to_green": shown["path_to_green"],
        "checked_in_today": CheckIn.objects.filter(code=code, day=today).exists(),
        "issued_at": datetime.fromtimestamp(claims.iat, tz=UTC),
        "expires_at": datetime.fromtimestamp(claims.exp, tz=UTC),
        "verified_at": now,
    }


def token_error_text(code: str) -> str:
    from django.utils.translation import gettext_lazy

    texts = {
        "bad_signature": gettext_lazy("签名无效：二维码被篡改或伪造。"),
        "expired": gettext_lazy("二维码已过期：请持码人刷新健康码页面后重新出示（截图无效）。"),
        "unknown_key": gettext_lazy("签名密钥未知：不是本平台签发的二维码。"),
        "malformed": gettext_lazy("无法识别：不是有效的爱南宁健康码二维码。"),
        "revoked": gettext_lazy("该健康码已注销。"),
    }
    return str(texts.get(code, texts["malformed"]))


# --- Unmasked personal data -----------------------------------------------------------------


def reveal_id_number(*, code: HealthCode, viewer: Any, ip: str | None = None) -> str:
    """The full ID number, for a viewer already authorised to see this code; every call is
    audited as a view of unmasked data."""
    from healthcode.lib.crypto import decrypt_field

    number = decrypt_field(code.id_number_encrypted, context=ID_NUMBER_CONTEXT)
    audit(
        action=AuditAction.UNMASKED_VIEW,
        actor=viewer,
        subject=code,
        ip=ip,
        detail={"field": "id_number"},
    )
    return number
