"""The privacy lifecycle (SPEC §8): the scheduled purge of personal data older than the
retention policy, account deletion on request, and the end-of-emergency erasure.

One place erases a set of health codes and accounts with everything personal hanging off
them (`erase`): account deletion calls it for one account, the end of the emergency for all.
The audit log is never purged (append-only, hash-chained); it holds masked values only.
"""

from __future__ import annotations

import getpass
import json
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, ProtectedError, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcode.accounts.models import User
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.privacy.hooks import hook_modules
from healthcode.privacy.policy import RetentionRule, retention_days

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Apps whose every row is personal (messages to residents, appeals, dishonesty records): at the
# end of the emergency they are emptied. The credit platform keeps the delivered records.
DEFAULT_WIPE_APPS = ("notifications", "appeals", "credit")


def _table(label: str) -> str:
    """The database table of a model label ("checkins.CheckIn" -> "checkins_checkin")."""
    try:
        return apps.get_model(label)._meta.db_table
    except (LookupError, ValueError):
        return label


def _add(counts: Counter[str], by_label: dict[str, int]) -> None:
    for label, n in by_label.items():
        if n:
            counts[_table(label)] += n


def _delete_in_batches(
    queryset: QuerySet, *, batch_size: int, before_delete: Any = None
) -> Counter[str]:
    """Delete the rows of `queryset` a batch of primary keys at a time (short transactions,
    no long locks), counting what went per table, cascades included."""
    counts: Counter[str] = Counter()
    model = queryset.model
    while True:
        pks = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            return counts
        with transaction.atomic():
            batch = model._base_manager.filter(pk__in=pks)
            if before_delete is not None:
                before_delete(list(batch))
            _n, by_label = batch.delete()
        _add(counts, by_label)


# --- The retention policy ---------------------------------------------------------------------


def _remove_job_files(jobs: list[Any]) -> None:
    from healthcode.jobs.services import jobs_dir

    folder = jobs_dir().resolve()
    for job in jobs:
        if job.file_name:
            path = (folder / job.file_name).resolve()
            if path.parent == folder:
                path.unlink(missing_ok=True)


def builtin_rules() -> list[RetentionRule]:
    """The kinds of personal data this project keeps for a limited time."""
    local_day = lambda cutoff: Q(day__lt=timezone.localdate(cutoff))  # noqa: E731
    return [
        RetentionRule("checkins", "checkins.CheckIn", condition=local_day),
        RetentionRule("checkin_revisions", "checkins.CheckInRevision", "recorded_at"),
        RetentionRule("scans", "codes.Scan", "at"),
        RetentionRule("attendance", "enterprises.Attendance", "at"),
        RetentionRule("otp_challenges", "accounts.OtpChallenge", "created_at"),
        RetentionRule(
            "api_tokens_expired",
            "accounts.ApiToken",
            condition=lambda cutoff: Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff),
        ),
        # Finished jobs: their parameters may hold a name or phone query, their files rows.
        RetentionRule(
            "job_files",
            "jobs.Job",
            "created_at",
            extra=Q(status__in=["done", "failed"]),
            before_delete=_remove_job_files,
        ),
        RetentionRule("notifications", "notifications.Notification", "created_at"),
    ]


def retention_rules() -> list[RetentionRule]:
    """The built-in rules and those of the apps' privacy hooks, for installed models only."""
    rules = builtin_rules()
    for module in hook_modules():
        rules.extend(getattr(module, "RETENTION_RULES", []))
    installed = []
    for rule in rules:
        try:
            apps.get_model(rule.model)
        except LookupError:
            continue
        installed.append(rule)
    return installed


def _purge_sms_file(cutoff: datetime, *, dry_run: bool, everything: bool = False) -> int:
    """The development/test SMS file backend keeps phones and texts: drop the old lines."""
    if getattr(settings, "HEALTHCODE_SMS_BACKEND", "") != "file":
        return 0
    path = Path(getattr(settings, "HEALTHCODE_SMS_FILE", ""))
    if not path.is_file():
        return 0
    kept, removed = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            sent_at = datetime.fromisoformat(json.loads(line)["sent_at"])
        except (ValueError, KeyError, TypeError):
            sent_at = None
        if everything or sent_at is None or sent_at < cutoff:
            removed += 1
        else:
            kept.append(line)
    if removed and not dry_run:
        path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    return removed


def purge_personal_data(
    *, now: datetime | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Delete every row older than the retention policy, in batches; idempotent (a second
    run finds nothing). Returns the rows removed per table (with `dry_run`, the rows that
    would be removed, cascades not counted) and audits the run."""
    now = now or timezone.now()
    days = retention_days()
    counts: Counter[str] = Counter()
    for rule in retention_rules():
        cutoff = now - timedelta(days=days.get(rule.kind, rule.default_days))
        model = apps.get_model(rule.model)
        queryset = model._base_manager.filter(rule.filter_for(cutoff))
        if dry_run:
            n = queryset.count()
            if n:
                counts[model._meta.db_table] += n
            continue
        counts.update(
            _delete_in_batches(queryset, batch_size=batch_size, before_delete=rule.before_delete)
        )
    sms = _purge_sms_file(now - timedelta(days=days["sms_file"]), dry_run=dry_run)
    if sms:
        counts["sms_file (lines)"] = sms
    result = dict(sorted(counts.items()))
    if not dry_run:
        audit(
            action=AuditAction.PERSONAL_DATA_PURGE,
            detail={"removed": result, "policy_days": days, "now": now.isoformat()},
        )
    return result


# --- Erasing codes and accounts -----------------------------------------------------------------


def erase(
    *, codes: QuerySet, accounts: Iterable[User] = (), batch_size: int = BATCH_SIZE
) -> Counter[str]:
    """Delete `codes` with everything personal about them, then `accounts`.

    Cascades remove check-ins, colour changes, reviews, manual requests, attendance and the
    like; what only points at a code (scans, official-list entries, employee rows) is deleted
    here, the apps' hooks remove their own (files, protected rows); invitations waiting under
    the accounts' phones and their login codes go too. Raises ProtectedError when a record
    the law keeps (a dishonesty record) still protects a code.
    """
    from healthcode.accounts.models import OtpChallenge
    from healthcode.codes.models import HealthCode, OfficialListEntry, Scan
    from healthcode.enterprises.models import Employee

    counts: Counter[str] = Counter()
    hooks = [m.forget_codes for m in hook_modules() if hasattr(m, "forget_codes")]
    phones: set[str] = set()
    while True:
        batch = list(codes.order_by("pk").values_list("pk", "phone")[:batch_size])
        if not batch:
            break
        ids = [pk for pk, _phone in batch]
        phones.update(phone for _pk, phone in batch)
        with transaction.atomic():
            for forget in hooks:
                _add(counts, forget(ids) or {})
            for model in (Scan, OfficialListEntry, Employee):
                _add(counts, model.objects.filter(code_id__in=ids).delete()[1])
            _add(counts, HealthCode.objects.filter(pk__in=ids).delete()[1])
    # Invitations (employee rows not yet linked to a code) naming these people.
    if phones:
        _add(counts, Employee.objects.filter(phone__in=phones, code__isnull=True).delete()[1])
    account_ids = [a.pk for a in accounts]
    for start in range(0, len(account_ids), batch_size):
        chunk = account_ids[start : start + batch_size]
        with transaction.atomic():
            account_phones = list(User.objects.filter(pk__in=chunk).values_list("phone", flat=True))
            _add(counts, OtpChallenge.objects.filter(phone__in=account_phones).delete()[1])
            _add(counts, Employee.objects.filter(phone__in=account_phones).delete()[1])
            _add(counts, User.objects.filter(pk__in=chunk).delete()[1])
    return counts


def _refusal(user: User) -> str | None:
    from healthcode.accounts.permissions import enterprises_managed_by
    from healthcode.backoffice.auth import has_admin_role

    if user.is_staff or has_admin_role(user):
        return _("拥有管理系统角色的账号不能自行注销，请联系市级管理员撤销角色后再注销。")
    if enterprises_managed_by(user).exists():
        return _("您仍是企业管理员，请先移交或移除企业管理权限后再注销账号。")
    return None


@transaction.atomic
def delete_account(*, user: User, ip: str | None = None) -> dict[str, int]:
    """Delete an account at its holder's request, with its codes (own and family members')
    and everything personal hanging off them. Refused (ValidationError on "account") while the
    account holds a back-office role, manages an enterprise, or a record the law keeps
    protects one of its codes; nothing is deleted then. Returns the rows removed per table."""
    refusal = _refusal(user)
    if refusal:
        raise ValidationError({"account": [refusal]})
    user_id, code_count = user.pk, user.health_codes.count()
    try:
        counts = erase(codes=user.health_codes.all(), accounts=[user])
    except ProtectedError:
        raise ValidationError(
            {"account": [_("您的健康码仍有依法须保留的记录（如失信信息），暂不能注销账号。")]}
        ) from None
    result = dict(sorted(counts.items()))
    # The account is gone: the record names it by id only (no phone, no name).
    audit(
        action=AuditAction.ACCOUNT_DELETE,
        ip=ip,
        detail={"account": user_id, "codes": code_count, "removed": result},
    )
    return result


# --- The end of the emergency -------------------------------------------------------------------


def _wipe_app_models(app_labels: Iterable[str]) -> Counter[str]:
    """Delete every row of every model of these apps, the referring models first."""
    counts: Counter[str] = Counter()
    pending: list[type[models.Model]] = []
    for label in app_labels:
        try:
            pending.extend(apps.get_app_config(label).get_models())
        except LookupError:
            continue
    for _round in range(len(pending) + 1):
        deferred = []
        for model in pending:
            try:
                with transaction.atomic():
                    _add(counts, model._base_manager.all().delete()[1])
            except ProtectedError:
                deferred.append(model)
        if not deferred:
            break
        pending = deferred
    return counts


def _kept_accounts() -> QuerySet:
    """Back-office accounts (a role in force, staff or superuser) survive the end of the
    emergency; every other account is a resident's or an enterprise manager's."""
    from healthcode.backoffice.models import AdminRole

    in_force = AdminRole.objects.filter(user=OuterRef("pk"), revoked_at__isnull=True)
    return User.objects.filter(Q(is_staff=True) | Q(is_superuser=True) | Exists(in_force))


def report_dir() -> Path:
    return Path(
        getattr(settings, "HEALTHCODE_PRIVACY_REPORT_DIR", "") or Path(settings.VAR_DIR) / "privacy"
    )


def end_of_emergency(
    *, operator: str = "", now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, Any]:
    """Delete or anonymise all personal data once the emergency is over:

    - health codes with their check-ins, scans, attendance, colour changes, reviews, manual
      requests and official-list entries; employee rows (names, phones); appeals, messages and
      dishonesty records (the apps in HEALTHCODE_PRIVACY_WIPE_APPS);
    - resident and enterprise-manager accounts (back-office accounts stay, without codes),
      login codes, API tokens, sessions, finished jobs and their files, the SMS file;
    - enterprises keep name and credit code; their contact person is anonymised; daily
      reports keep their figures (counts) but lose free-text notes.

    Writes a deletion report (JSON) under var/privacy/ and returns it. The audit log stays,
    hash chain intact: it holds masked values only.
    """
    from django.contrib.sessions.models import Session

    from healthcode.accounts.models import ApiToken, OtpChallenge
    from healthcode.checkins.models import CheckIn
    from healthcode.codes.models import HealthCode, OfficialListEntry, Scan
    from healthcode.enterprises.models import (
        Attendance,
        DailyReport,
        DailyReportRevision,
        Employee,
        Enterprise,
    )
    from healthcode.jobs.models import Job

    now = now or timezone.now()
    operator = operator or getpass.getuser()
    counts: Counter[str] = Counter()
    # The apps' hooks first (files, rows protecting codes), then the apps emptied entirely.
    hooks = [m.forget_codes for m in hook_modules() if hasattr(m, "forget_codes")]
    all_ids = list(HealthCode.objects.values_list("pk", flat=True))
    for start in range(0, len(all_ids), batch_size):
        with transaction.atomic():
            for forget in hooks:
                _add(counts, forget(all_ids[start : start + batch_size]) or {})
    wipe = getattr(settings, "HEALTHCODE_PRIVACY_WIPE_APPS", DEFAULT_WIPE_APPS)
    counts.update(_wipe_app_models(wipe))
    residents = list(User.objects.exclude(pk__in=_kept_accounts().values("pk")).only("pk"))
    counts.update(erase(codes=HealthCode.objects.all(), accounts=residents, batch_size=batch_size))
    for model in (Attendance, Scan, CheckIn, OfficialListEntry, Employee, OtpChallenge, ApiToken):
        counts.update(_delete_in_batches(model._base_manager.all(), batch_size=batch_size))
    counts.update(
        _delete_in_batches(
            Job.objects.all(), batch_size=batch_size, before_delete=_remove_job_files
        )
    )
    counts.update(_delete_in_batches(Session.objects.all(), batch_size=batch_size))
    with transaction.atomic():
        anonymised = Enterprise.objects.exclude(contact_name="", contact_phone="").update(
            contact_name="", contact_phone=""
        )
        if anonymised:
            counts[f"{Enterprise._meta.db_table} (contacts anonymised)"] += anonymised
        notes = DailyReport.objects.exclude(note="").update(note="")
        notes += DailyReportRevision.objects.exclude(note="").update(note="")
        if notes:
            counts[f"{DailyReport._meta.db_table} (notes cleared)"] += notes
    sms = _purge_sms_file(now, dry_run=False, everything=True)
    if sms:
        counts["sms_file (lines)"] = sms
    removed = dict(sorted(counts.items()))
    report = {
        "what": "end_of_emergency",
        "at": now.isoformat(),
        "operator": operator,
        "removed": removed,
        "kept": {
            "back_office_accounts": _kept_accounts().count(),
            "enterprises": Enterprise.objects.count(),
            "daily_reports": DailyReport.objects.count(),
            "audit_records": apps.get_model("audit", "AuditRecord").objects.count(),
        },
    }
    folder = report_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"end-of-emergency-{now:%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    report["file"] = str(path)
    audit(
        action=AuditAction.END_OF_EMERGENCY,
        detail={k: report[k] for k in ("operator", "removed", "kept")},
    )
    return report
