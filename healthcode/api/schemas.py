"""Error shapes shared by every API router (SPEC §9)."""

from __future__ import annotations

from ninja import Schema


class ErrorsOut(Schema):
    """400: `{"errors": {"<field>": ["<message>"]}}`, messages in the request's language."""

    errors: dict[str, list[str]]


class ErrorOut(Schema):
    """Other failures: `{"error": "<code>", "detail": "<message>"}`."""

    error: str
    detail: str
