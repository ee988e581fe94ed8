"""Errors shared by services, pages and the API.

Services raise Django's `ValidationError` with a dict of field -> messages for bad input
(the API answers 400 `{"errors": {...}}`, pages show the messages by the fields), and
`ApiError` for other refusals (`{"error": code, "detail": message}`).
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
