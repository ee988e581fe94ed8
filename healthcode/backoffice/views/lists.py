"""Back-office pages for official lists (官方名单). Thin doors onto
healthcode.codes.official_lists, like the API:

- `/backoffice/lists`: upload a file (`#id_file`, `#import-list`); the result (`#list-result`
  with `#list-matched`, `#list-unmatched` and the unmatched rows `#list-unmatched-rows`) or
  the file's errors (`#list-file-errors`) and every bad row (`#list-errors`); the batches
  imported so far (`#list-batches`);
- `/backoffice/lists/template?format=xlsx|csv`: the template;
- `/backoffice/lists/<id>`: one batch's entries (`#list-entries`, filter `?state=`), each
  with a withdraw form (POST `/backoffice/lists/entries/<id>/withdraw`).

City admins only (403 for other admins and accounts without a role; the back-office login
for visitors who have not passed it).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from healthcode.accounts.auth import client_ip
from healthcode.backoffice.auth import backoffice_required
from healthcode.codes import official_lists as lists
from healthcode.codes.choices import OfficialListKind
from healthcode.enterprises.imports import ImportRejected
from healthcode.lib.errors import ApiError

# The page lists this many bad or unmatched rows; the API lists them all.
ROWS_SHOWN = 1000
ENTRIES_PER_PAGE = 200


def _require_list_admin(request: HttpRequest) -> None:
    if not lists.may_manage_lists(request.user):
        raise PermissionDenied(_("官方名单由市级管理员导入和管理：您的角色不能使用此功能。"))


def _row_items(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    items = []
    for key, texts in errors.items():
        label = "" if key == "__all__" else lists.column_label(key)
        items.extend((label, text) for text in texts)
    return items


@backoffice_required
@require_http_methods(["GET", "POST"])
def lists_page(request: HttpRequest) -> TemplateResponse:
    """Upload a list; the result or the errors; the batches so far."""
    _require_list_admin(request)
    context: dict[str, Any] = {
        "max_rows": f"{lists.MAX_ROWS:,}",
        "max_mb": lists.MAX_BYTES // (1024 * 1024),
        "kinds": list(lists.KIND_WORDS.items()),
    }
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["file_errors"] = [_("请选择要上传的 XLSX 或 CSV 文件。")]
            status = 400
        else:
            try:
                batch = lists.import_official_list(
                    actor=request.user, file=upload, ip=client_ip(request)
                )
            except ImportRejected as exc:
                context["file_errors"] = exc.message_dict.get("file", [])
                context["bad_rows"] = [
                    {"row": r.row, "items": _row_items(r.errors)} for r in exc.rows[:ROWS_SHOWN]
                ]
                context["bad_rows_hidden"] = max(0, len(exc.rows) - ROWS_SHOWN)
                status = 400
            else:
                unmatched = batch.unmatched_rows  # type: ignore[attr-defined]
                context["result"] = batch
                names = dict(OfficialListKind.choices)
                context["unmatched_rows"] = [
                    {**r.to_dict(), "kind_name": names.get(r.kind, r.kind)}
                    for r in unmatched[:ROWS_SHOWN]
                ]
                context["unmatched_hidden"] = max(0, len(unmatched) - ROWS_SHOWN)
    context["batches"] = lists.batches_for(request.user)[:50]
    return TemplateResponse(request, "backoffice/lists_index.html", context, status=status)


@backoffice_required
@require_GET
def template_download(request: HttpRequest) -> HttpResponse:
    _require_list_admin(request)
    return lists.template_response("csv" if request.GET.get("format") == "csv" else "xlsx")


@backoffice_required
@require_GET
def batch_page(request: HttpRequest, batch_id: int) -> TemplateResponse:
    """One batch's entries, masked, in file order, optionally by state."""
    _require_list_admin(request)
    batch = lists.batch_for(request.user, batch_id)
    state = request.GET.get("state", "")
    if state not in lists.ENTRY_STATES:
        state = ""
    paginator = Paginator(lists.entries_of(batch, state), ENTRIES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "batch": batch,
        "state": state,
        "states": [
            ("", _("全部")),
            ("matched", _("已匹配")),
            ("unmatched", _("未匹配")),
            ("withdrawn", _("已撤销")),
        ],
        "page": page,
        "entries": [lists.present_entry(e) for e in page.object_list],
    }
    return TemplateResponse(request, "backoffice/lists_batch.html", context)


@backoffice_required
@require_POST
def withdraw(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Withdraw one entry (with an optional reason) and go back to its batch."""
    _require_list_admin(request)
    entry = lists.entry_for(request.user, entry_id)
    try:
        lists.withdraw_entry(
            actor=request.user,
            entry=entry,
            reason=request.POST.get("reason", ""),
            ip=client_ip(request),
        )
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    except ApiError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            _("已撤销第 %(id)d 条名单记录，相应健康码已重新判定。") % {"id": entry.pk},
        )
    return redirect("backoffice:list_batch", batch_id=entry.batch_id)


urlpatterns = [
    path("lists", lists_page, name="lists"),
    path("lists/template", template_download, name="list_template"),
    path("lists/<int:batch_id>", batch_page, name="list_batch"),
    path("lists/entries/<int:entry_id>/withdraw", withdraw, name="list_withdraw"),
]
