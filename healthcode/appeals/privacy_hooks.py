"""The appeals app in the privacy lifecycle: attachment files on disk go with the codes."""

from __future__ import annotations

from healthcode.appeals.models import AppealAttachment
from healthcode.appeals.services import attachment_path


def forget_codes(code_ids: list[int]) -> dict[str, int]:
    """Delete the attachment files of appeals about these codes (their rows go with the
    codes by cascade)."""
    removed = 0
    for attachment in AppealAttachment.objects.filter(appeal__code_id__in=code_ids).iterator():
        path = attachment_path(attachment)
        if path.exists():
            path.unlink()
            removed += 1
    return {"appeal attachment files": removed}
