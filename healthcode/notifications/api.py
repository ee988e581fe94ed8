"""API of the message centre and of "who viewed my data", for the logged-in resident."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from healthcode.accounts.auth import api_auth
from healthcode.api.schemas import ErrorOut, ErrorsOut
from healthcode.notifications import services

router = Router(auth=api_auth, tags=["notifications"])


class MessageOut(Schema):
    id: int
    kind: str = Field(
        description="color_change | review_outcome | appeal_outcome | dishonesty_record | other"
    )
    kind_label: str
    title: str = Field(description="in the request's language")
    body: str
    code: str | None = Field(None, description="the code concerned, if any")
    created_at: datetime
    read: bool
    read_at: datetime | None = None


class MessagesOut(Schema):
    unread: int
    items: list[MessageOut]


class ReadAllOut(Schema):
    marked: int = Field(description="how many messages were unread")


class ListParams(Schema):
    limit: int = Field(100, ge=1, le=500)


class DataViewOut(Schema):
    id: int
    at: datetime
    action: str = Field(description="unmasked_view | export | export_download")
    action_label: str
    what: str
    roles: list[str] = Field(description="the viewer's role kinds at the time")
    role_labels: list[str]
    organisation: str
    viewer: str = Field(description="the viewer's phone, masked")
    code: str | None = None
    code_name: str = Field("", description="masked")


class DataViewsOut(Schema):
    items: list[DataViewOut]


@router.get(
    "/messages", response={200: MessagesOut, 400: ErrorsOut, 401: ErrorOut}, summary="My messages"
)
def list_messages(request: HttpRequest, params: Query[ListParams]) -> dict:
    """The account's own messages, newest first, and how many are unread."""
    items = services.messages_for(request.auth)[: params.limit]
    return {
        "unread": services.unread_count(request.auth),
        "items": [services.present_message(n) for n in items],
    }


@router.post(
    "/messages/read-all",
    response={200: ReadAllOut, 401: ErrorOut, 403: ErrorOut},
    summary="Mark all my messages read",
)
def read_all(request: HttpRequest) -> dict:
    return {"marked": services.mark_all_read(user=request.auth)}


@router.post(
    "/messages/{message_id}/read",
    response={200: MessageOut, 400: ErrorsOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Mark one of my messages read",
)
def read_one(request: HttpRequest, message_id: int) -> dict:
    """404 for a message of another account."""
    return services.present_message(
        services.mark_read(user=request.auth, notification_id=message_id)
    )


@router.get(
    "/me/data-views",
    response={200: DataViewsOut, 400: ErrorsOut, 401: ErrorOut},
    summary="Who viewed my data",
)
def data_views(request: HttpRequest, params: Query[ListParams]) -> dict:
    """Every unmasked view and export of the account's codes by someone else: role,
    organisation, time, what (the viewer's phone masked)."""
    return {"items": services.data_views_for(request.auth, limit=params.limit)}
