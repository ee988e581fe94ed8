"""Appeals (申诉): the one place where an appeal is submitted, taken up and decided, and where
scope and attachments are checked. Pages and API are thin doors onto these functions.

- `submit_appeal`: the holder of a code appeals its colour or a dishonesty record, with text
  and up to five images; the appeal is assigned to the reviewer of the code's district with
  the fewest open appeals (else a district admin, else the city queue) and gets a deadline.
- `start_review`: an authority in scope takes an appeal up (submitted → in_review).
- `decide_appeal`: an authority in scope upholds or dismisses it, with a note. A colour's
  outcome goes through `healthcode.codes.reviews.review_code` (the one review service); a
  dishonesty record's through `healthcode.credit.services.record_appeal_ruling`.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, IntegerField, QuerySet, When
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from healthcode.accounts.permissions import review_scope
from healthcode.appeals.choices import OPEN_STATUSES, AppealStatus, AppealSubject
from healthcode.appeals.models import NOTE_MAX, TEXT_MAX, Appeal, AppealAttachment
from healthcode.audit.choices import AuditAction
from healthcode.audit.services import audit
from healthcode.codes import reviews
from healthcode.codes.models import HealthCode
from healthcode.lib.errors import ApiError

log = logging.getLogger(__name__)

MAX_FILES = 5
MAX_FILE_BYTES = 5 * 1024 * 1024
# Images are recognised by their first bytes, never by the name or the client's content type.
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


# --- Storage --------------------------------------------------------------------------------


def appeals_dir() -> Path:
    """The private folder of attachments (never under static or media served by the web
    server): HEALTHCODE_APPEALS_DIR, by default VAR_DIR/appeals."""
    path = Path(getattr(settings, "HEALTHCODE_APPEALS_DIR", Path(settings.VAR_DIR) / "appeals"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def attachment_path(attachment: AppealAttachment) -> Path:
    return appeals_dir() / attachment.stored_name


def sniff_image(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG, PNG or WebP image by its magic bytes, else None."""
    for magic, content_type, ext in _MAGIC:
        if head.startswith(magic):
            return content_type, ext
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


@dataclass
class _Upload:
    name: str
    content: bytes
    content_type: str
    ext: str


def _read(upload: Any) -> bytes:
    # Read one byte more than allowed, so that an oversized file is never held whole.
    if hasattr(upload, "seek"):
        upload.seek(0)
    return upload.read(MAX_FILE_BYTES + 1)


def _clean_files(files: Any) -> list[_Upload]:
    files = list(files or [])
    if len(files) > MAX_FILES:
        raise ValidationError(
            {"attachments": [_("每条申诉最多上传 %(max)d 张图片。") % {"max": MAX_FILES}]}
        )
    cleaned: list[_Upload] = []
    for upload in files:
        name = str(getattr(upload, "name", "") or "image")[-200:]
        size = getattr(upload, "size", None)
        if size is not None and size > MAX_FILE_BYTES:
            raise ValidationError({"attachments": [_too_big(name)]})
        content = _read(upload)
        if len(content) > MAX_FILE_BYTES:
            raise ValidationError({"attachments": [_too_big(name)]})
        kind = sniff_image(content[:16])
        if kind is None:
            raise ValidationError(
                {
                    "attachments": [
                        _("附件“%(name)s”不是图片：只能上传 JPEG、PNG 或 WebP 格式的图片。")
                        % {"name": name}
                    ]
                }
            )
        cleaned.append(_Upload(name=name, content=content, content_type=kind[0], ext=kind[1]))
    return cleaned


def _too_big(name: str) -> str:
    return _("附件“%(name)s”超过 5 MB：每张图片不能超过 5 MB。") % {"name": name}


def _store(appeal: Appeal, uploads: list[_Upload]) -> list[Path]:
    """Write the files and their rows; the caller removes the files if the transaction fails."""
    written: list[Path] = []
    folder = appeals_dir()
    for number, upload in enumerate(uploads, start=1):
        stored_name = f"{uuid.uuid4().hex}{upload.ext}"
        path = folder / stored_name
        path.write_bytes(upload.content)
        written.append(path)
        AppealAttachment.objects.create(
            appeal=appeal,
            number=number,
            stored_name=stored_name,
            original_name=upload.name,
            content_type=upload.content_type,
            size=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(),
        )
    return written


# --- Scope ----------------------------------------------------------------------------------


def appeals_in_scope(user: Any) -> QuerySet[Appeal]:
    """Appeals an authority handles: those on the codes of its review scope
    (accounts.permissions.review_scope)."""
    return Appeal.objects.filter(code__in=review_scope(user))


def appeal_in_scope(user: Any, appeal_id: object) -> Appeal:
    """One appeal in the authority's scope, or 404."""
    try:
        pk = int(str(appeal_id))
    except ValueError:
        raise Http404("no such appeal") from None
    return get_object_or_404(
        appeals_in_scope(user).select_related("code", "account", "assigned_to", "decided_by"),
        pk=pk,
    )


def appeals_of(user: Any) -> QuerySet[Appeal]:
    """The appeals an account made (on codes it holds)."""
    if not getattr(user, "is_authenticated", False):
        return Appeal.objects.none()
    return Appeal.objects.filter(account=user, code__account=user)


def appeal_of(user: Any, appeal_id: object) -> Appeal:
    """One of the account's appeals, or 404 (another account's appeal does not exist)."""
    try:
        pk = int(str(appeal_id))
    except ValueError:
        raise Http404("no such appeal") from None
    return get_object_or_404(appeals_of(user).select_related("code"), pk=pk)


def attachment_of(appeal: Appeal, number: object) -> AppealAttachment:
    try:
        n = int(str(number))
    except ValueError:
        raise Http404("no such attachment") from None
    return get_object_or_404(AppealAttachment, appeal=appeal, number=n)


# --- Assignment -----------------------------------------------------------------------------


def choose_assignee(code: HealthCode, *, exclude: Any = None) -> Any:
    """The reviewer of the code's district with the fewest open appeals (the longest-serving
    on a tie), else a district admin of it, else None (the city admins' queue). Never the
    appellant."""
    from healthcode.backoffice.models import AdminRole

    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for kind in ("reviewer", "district_admin"):
        user_ids = AdminRole.objects.filter(
            kind=kind, district_id=code.district_id, revoked_at__isnull=True, user__is_active=True
        ).values_list("user_id", flat=True)
        candidates = user_model.objects.filter(pk__in=user_ids)
        if exclude is not None:
            candidates = candidates.exclude(pk=exclude.pk)
        chosen = _fewest_open(candidates)
        if chosen is not None:
            return chosen
    return None


def _fewest_open(candidates: QuerySet) -> Any:
    users = list(candidates.order_by("pk"))
    if not users:
        return None
    counts = dict(
        Appeal.objects.filter(assigned_to__in=users, status__in=OPEN_STATUSES)
        .values_list("assigned_to")
        .annotate(n=Count("pk"))
        .values_list("assigned_to", "n")
    )
    return min(users, key=lambda u: (counts.get(u.pk, 0), u.pk))


def appeal_days() -> int:
    return int(getattr(settings, "HEALTHCODE_APPEAL_DAYS", 7))


# --- Dishonesty records (the credit app, written separately) ---------------------------------


def _record_model() -> Any:
    try:
        return apps.get_model("credit", "DishonestyRecord")
    except LookupError:
        return None


def _clean_record(code: HealthCode, record_id: Any) -> Any:
    """The dishonesty record appealed: one of the code's (404 otherwise). Returns the record,
    or its bare id while the credit app is not installed."""
    try:
        pk = int(str(record_id))
        if pk <= 0:
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError(
            {"record_id": [_("对失信记录申诉时，必须指明所申诉的失信记录。")]}
        ) from None
    model = _record_model()
    if model is None:
        return pk
    record = model.objects.filter(pk=pk, code=code).first()
    if record is None:
        raise Http404("no such record")
    return record


def _mark_filed(record: Any, account: Any) -> None:
    """Tell the credit service an appeal is pending, so the record does not become final (it
    refuses, 409, when the appeal window is closed or the record cannot be appealed)."""
    if isinstance(record, int):
        return
    from healthcode.credit.services import mark_appeal_filed

    mark_appeal_filed(record=record, actor=account)


# --- Submitting -----------------------------------------------------------------------------


def _clean_submission(subject: Any, text: Any) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    if subject not in AppealSubject.values:
        errors["subject"] = [
            _("申诉事项必须是 color（健康码颜色）或 dishonesty_record（失信记录）。")
        ]
    text = str(text or "").strip()
    if not text:
        errors["text"] = [_("请填写申诉理由。")]
    elif len(text) > TEXT_MAX:
        errors["text"] = [_("申诉理由不能超过 %(max)d 个字。") % {"max": TEXT_MAX}]
    if errors:
        raise ValidationError(errors)
    return str(subject), text


def submit_appeal(
    *,
    account: Any,
    code: HealthCode,
    subject: str,
    text: str,
    files: Any = (),
    record_id: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Appeal:
    """The holder of `code` appeals its colour or a dishonesty record about it. Another
    account's code → 404; bad subject, empty or long text, too many, too large or non-image
    attachments → 400 naming the field, nothing saved; a second open appeal on the same code
    and subject → 409. Assigns it, sets the deadline, stores the images privately, audits."""
    written: list[Path] = []
    try:
        with transaction.atomic():
            appeal = _submit(
                account=account,
                code=code,
                subject=subject,
                text=text,
                files=files,
                record_id=record_id,
                ip=ip,
                now=now,
                written=written,
            )
    except BaseException:
        # Nothing half-written: files of a failed submission go with its rows.
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return appeal


def _submit(
    *,
    account: Any,
    code: HealthCode,
    subject: str,
    text: str,
    files: Any,
    record_id: Any,
    ip: str | None,
    now: datetime | None,
    written: list[Path],
) -> Appeal:
    # The code must be one the account holds (codes_visible_to): otherwise it does not exist.
    from healthcode.accounts.permissions import codes_visible_to

    if not codes_visible_to(account).filter(pk=code.pk).exists():
        raise Http404("no such code")
    subject, text = _clean_submission(subject, text)
    uploads = _clean_files(files)
    record: Any = None
    record_pk: int | None = None
    if subject == AppealSubject.DISHONESTY_RECORD:
        record = _clean_record(code, record_id)
        record_pk = record if isinstance(record, int) else record.pk
    # Lock the code: two submissions at once end with one open appeal, not two.
    HealthCode.objects.select_for_update().filter(pk=code.pk).first()
    open_appeals = Appeal.objects.filter(code=code, subject=subject, status__in=OPEN_STATUSES)
    if record_pk is not None:
        open_appeals = open_appeals.filter(dishonesty_record_id=record_pk)
    if open_appeals.exists():
        raise ApiError(
            409, "appeal_open", _("该事项已有一条正在处理的申诉，请等待处理结果后再申诉。")
        )
    now = now or timezone.now()
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                code=code,
                account=account,
                subject=subject,
                dishonesty_record_id=record_pk,
                text=text,
                assigned_to=choose_assignee(code, exclude=account),
                deadline=now + timedelta(days=appeal_days()),
                submitted_at=now,
            )
    except IntegrityError:
        raise ApiError(
            409, "appeal_open", _("该事项已有一条正在处理的申诉，请等待处理结果后再申诉。")
        ) from None
    if record is not None:
        _mark_filed(record, account)
    written.extend(_store(appeal, uploads))
    audit(
        action=AuditAction.APPEAL_SUBMIT,
        actor=account,
        subject=appeal,
        ip=ip,
        detail={
            "code": str(code.public_id),
            "subject": subject,
            "record": record_pk,
            "attachments": len(uploads),
            "assigned_to": appeal.assigned_to_id,
        },
    )
    return appeal


# --- Deciding -------------------------------------------------------------------------------


def _lock(appeal: Appeal) -> tuple[HealthCode, Appeal]:
    # The code first, as every write on a code does (reviews, check-ins), then the appeal.
    code = HealthCode.objects.select_for_update().get(pk=appeal.code_id)
    return code, Appeal.objects.select_for_update().get(pk=appeal.pk)


def _in_scope(user: Any, appeal: Appeal) -> None:
    if not appeals_in_scope(user).filter(pk=appeal.pk).exists():
        raise Http404("no such appeal")


def _still_open(appeal: Appeal) -> None:
    if not appeal.is_open:
        raise ApiError(
            409,
            "appeal_decided",
            _("该申诉已处理（%(status)s），不能再处理。") % {"status": appeal.get_status_display()},
        )


@transaction.atomic
def start_review(
    *, reviewer: Any, appeal: Appeal, ip: str | None = None, now: datetime | None = None
) -> Appeal:
    """An authority in scope takes the appeal up (submitted → in_review); it becomes theirs
    if it was in the city queue. Starting one already in review is a no-op."""
    reviews.require_reviewer(reviewer)
    _in_scope(reviewer, appeal)
    _code, appeal = _lock(appeal)
    _still_open(appeal)
    if appeal.status == AppealStatus.IN_REVIEW:
        return appeal
    appeal.status = AppealStatus.IN_REVIEW
    appeal.review_started_at = now or timezone.now()
    if appeal.assigned_to_id is None:
        appeal.assigned_to = reviewer
    appeal.save(update_fields=["status", "review_started_at", "assigned_to"])
    audit(
        action=AuditAction.APPEAL_REVIEW_START,
        actor=reviewer,
        subject=appeal,
        ip=ip,
        detail={"code": str(appeal.code.public_id)},
    )
    # Taking an appeal up is shown on its page; the resident is told of the outcome only.
    return appeal


def _clean_note(note: Any) -> str:
    note = str(note or "").strip()
    if not note:
        raise ValidationError({"note": [_("处理申诉时必须填写处理意见，申诉人会看到这一意见。")]})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": [_("处理意见不能超过 %(max)d 个字。") % {"max": NOTE_MAX}]})
    return note


def _rule_on_color(
    *, reviewer: Any, code: HealthCode, upheld: bool, note: str, ip: str | None, now: datetime
) -> dict[str, Any]:
    if upheld:
        # Through the one review service: it checks the reviewer may review this code and
        # refuses (404) when there is nothing to review, e.g. the code is green by now.
        return reviews.review_code(
            reviewer=reviewer, code=code, outcome="approve", note=note, ip=ip, now=now
        )
    if code.color in ("yellow", "red"):
        return reviews.review_code(
            reviewer=reviewer, code=code, outcome="refuse", note=note, ip=ip, now=now
        )
    return {"color": code.color}


def _rule_on_record(
    *, reviewer: Any, appeal: Appeal, upheld: bool, now: datetime
) -> dict[str, Any]:
    model = _record_model()
    if model is None:
        # The credit app is not installed: the outcome is stored on the appeal only.
        return {"credit": "not_applied"}
    from healthcode.credit.services import record_appeal_ruling

    record = get_object_or_404(model, pk=appeal.dishonesty_record_id, code_id=appeal.code_id)
    # The APPEAL upheld means the appellant is right: the record is overturned, i.e. the
    # credit service's ruling "upheld" (the record stands) is the opposite of ours.
    record = record_appeal_ruling(record=record, upheld=not upheld, actor=reviewer, now=now)
    return {"credit": "applied", "record_status": record.status}


@transaction.atomic
def decide_appeal(
    *,
    reviewer: Any,
    appeal: Appeal,
    upheld: bool,
    note: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> Appeal:
    """Uphold (the appellant is right) or dismiss an open appeal in scope (404 otherwise),
    with a note the resident sees. A colour appeal upheld → the code is approved through
    review_code (its refusals, e.g. 404 for a code that is green by now, are the answer);
    dismissed → the code is refused if it is yellow or red. A dishonesty-record appeal upheld
    → the record is overturned by the credit service. The resident is notified; all in one
    transaction, audited."""
    reviews.require_reviewer(reviewer)
    _in_scope(reviewer, appeal)
    note = _clean_note(note)
    now = now or timezone.now()
    code, appeal = _lock(appeal)
    _still_open(appeal)
    if appeal.subject == AppealSubject.COLOR:
        outcome = _rule_on_color(
            reviewer=reviewer, code=code, upheld=upheld, note=note, ip=ip, now=now
        )
    else:
        outcome = _rule_on_record(reviewer=reviewer, appeal=appeal, upheld=upheld, now=now)
    appeal.status = AppealStatus.UPHELD if upheld else AppealStatus.DISMISSED
    appeal.outcome_note = note
    appeal.outcome_detail = _jsonable(outcome)
    appeal.decided_by = reviewer
    appeal.decided_at = now
    appeal.save(
        update_fields=["status", "outcome_note", "outcome_detail", "decided_by", "decided_at"]
    )
    audit(
        action=AuditAction.APPEAL_DECISION,
        actor=reviewer,
        subject=appeal,
        ip=ip,
        detail={
            "code": str(code.public_id),
            "subject": appeal.subject,
            "record": appeal.dishonesty_record_id,
            "upheld": bool(upheld),
            "note": note,
            "outcome": appeal.outcome_detail,
        },
    )
    # The message is stored in both languages (the resident reads it in theirs later).
    with translation.override("zh-hans"):
        what_zh = str(appeal.get_subject_display())
    what_en = "health code colour" if appeal.subject == AppealSubject.COLOR else "dishonesty record"
    if upheld:
        body = (
            f"您对{what_zh}的申诉（编号 {appeal.pk}）成立。处理意见：{note}",
            f"Your appeal no. {appeal.pk} about your {what_en} was upheld. Note: {note}",
        )
    else:
        body = (
            f"您对{what_zh}的申诉（编号 {appeal.pk}）不成立。处理意见：{note}",
            f"Your appeal no. {appeal.pk} about your {what_en} was dismissed. Note: {note}",
        )
    _notify(appeal, title=("申诉处理结果", "Outcome of your appeal"), body=body)
    return appeal


def _jsonable(outcome: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in outcome.items()
        if isinstance(v, str | int | float | bool | datetime | type(None))
    }


def _notify(appeal: Appeal, *, title: tuple[str, str], body: tuple[str, str]) -> None:
    """Tell the resident in the message centre (and by SMS), when the notifications app is
    installed; its SMS leaves only once this transaction commits."""
    try:
        from healthcode.notifications.services import notify
    except ImportError:
        return
    notify(
        user=appeal.account,
        kind="appeal_outcome",
        title_zh=title[0],
        body_zh=body[0],
        title_en=title[1],
        body_en=body[1],
        code=appeal.code,
    )


# --- Presenting -----------------------------------------------------------------------------


def present(appeal: Appeal, *, for_staff: bool = False) -> dict[str, Any]:
    """What the resident (and, with `for_staff`, the authority) sees of an appeal."""
    from healthcode.lib.masking import mask_name, mask_phone

    data: dict[str, Any] = {
        "id": appeal.pk,
        "code": str(appeal.code.public_id),
        "code_name": mask_name(appeal.code.name),
        "code_color": appeal.code.color,
        "subject": appeal.subject,
        "subject_label": str(appeal.get_subject_display()),
        "record_id": appeal.dishonesty_record_id,
        "text": appeal.text,
        "status": appeal.status,
        "status_label": str(appeal.get_status_display()),
        "deadline": appeal.deadline,
        "overdue": appeal.is_open and appeal.deadline < timezone.now(),
        "submitted_at": appeal.submitted_at,
        "decided_at": appeal.decided_at,
        "outcome_note": appeal.outcome_note,
        "attachments": [
            {
                "number": a.number,
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in appeal.attachments.all()
        ],
    }
    if for_staff:
        data["district"] = appeal.code.district_id
        data["assigned_to"] = mask_phone(appeal.assigned_to.phone) if appeal.assigned_to else ""
        data["assigned_to_id"] = appeal.assigned_to_id
        data["decided_by"] = mask_phone(appeal.decided_by.phone) if appeal.decided_by else ""
        data["outcome"] = appeal.outcome_detail
    return data


def queue_order(appeals: QuerySet[Appeal]) -> QuerySet[Appeal]:
    """Open appeals first, the nearest deadline first; then the decided ones."""
    open_first = Case(When(status__in=OPEN_STATUSES, then=0), default=1, output_field=IntegerField())
    return appeals.annotate(open_first=open_first).order_by("open_first", "deadline", "pk")


def attachment_response(attachment: AppealAttachment) -> FileResponse:
    """The stored image, as an attachment download that no browser sniffs or caches."""
    path = attachment_path(attachment)
    if not path.is_file():
        raise Http404("attachment file missing")
    response = FileResponse(
        path.open("rb"),
        content_type=attachment.content_type,
        as_attachment=False,
        filename=f"appeal-{attachment.appeal_id}-{attachment.number}{path.suffix}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def audit_attachment_view(*, viewer: Any, attachment: AppealAttachment, ip: str | None) -> None:
    """Record that an authority opened an appellant's image (personal data)."""
    audit(
        action=AuditAction.APPEAL_ATTACHMENT_VIEW,
        actor=viewer,
        subject=attachment.appeal,
        ip=ip,
        detail={"attachment": attachment.number, "sha256": attachment.sha256},
    )
