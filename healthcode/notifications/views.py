"""Pages of the message centre and of "who viewed my data" (mobile first). Thin doors onto
`services`, like the API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from healthcode.notifications import services

PAGE_SIZE = 200


@login_required
def index(request: HttpRequest) -> TemplateResponse:
    """The message centre: the account's messages, newest first, unread ones highlighted."""
    items = [services.present_message(n) for n in services.messages_for(request.user)[:PAGE_SIZE]]
    context = {"items": items, "unread": services.unread_count(request.user)}
    return TemplateResponse(request, "notifications/messages.html", context)


@login_required
@require_POST
def read_one(request: HttpRequest, message_id: int) -> HttpResponseRedirect:
    """Mark one message read (404 for another account's)."""
    services.mark_read(user=request.user, notification_id=message_id)
    return redirect("notifications:index")


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponseRedirect:
    """Mark every message read."""
    services.mark_all_read(user=request.user)
    return redirect("notifications:index")


@login_required
def data_views(request: HttpRequest) -> TemplateResponse:
    """Who viewed my data: unmasked views and exports of the account's codes by others."""
    context = {"items": services.data_views_for(request.user, limit=PAGE_SIZE), "wide_layout": True}
    return TemplateResponse(request, "notifications/data_views.html", context)
