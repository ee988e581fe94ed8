"""The role × endpoint matrix for the whole API (issue 5, item 7), read from the OpenAPI schema
so that no operation added later escapes it: anonymous callers get 401 on every operation but
the public ones, and a resident's token never opens a back-office (/admin/) operation."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client

from healthcode.testing import ApiClient

PUBLIC = {
    "/api/v1/auth/otp",
    "/api/v1/auth/token",
    "/api/v1/admin/auth/otp",
    "/api/v1/admin/auth/token",
    "/api/v1/schema",
}
# The published signing keys are outside the API: /.well-known/healthcode/keys (public too).
METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation of GET /api/v1/schema."""
    schema = Client().get("/api/v1/schema").json()
    return [
        (method, path, spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]


def concrete(path: str, spec: dict[str, Any]) -> str:
    """The path with each parameter filled by a well-formed value of its type."""
    kinds = {
        p["name"]: p.get("schema", {}) for p in spec.get("parameters", []) if p.get("in") == "path"
    }

    def value(match: re.Match[str]) -> str:
        kind = kinds.get(match.group(1), {})
        if kind.get("type") == "integer":
            return "1"
        if kind.get("format") == "uuid":
            return str(uuid.uuid4())
        return "1"

    return re.sub(r"\{(\w+)\}", value, path)


def call(client: ApiClient, method: str, url: str) -> Any:
    body = json.dumps({}) if method in {"post", "put", "patch"} else ""
    return getattr(client.client, method)(
        url, data=body, content_type="application/json", **client.headers
    )


def test_it_lists_every_operation_in_the_schema(db):
    """The schema the matrix reads has the whole API (every app's router is mounted)."""
    paths = {path for _, path, _ in operations()}
    assert len(paths) > 50
    for prefix in ("/api/v1/codes", "/api/v1/enterprises", "/api/v1/admin/", "/api/v1/auth/"):
        assert any(p.startswith(prefix) for p in paths), prefix


def test_it_answers_401_to_anonymous_callers_everywhere_but_the_public_operations(db):
    """Without credentials every operation answers 401, except logging in, the schema and the
    published keys."""
    anonymous = ApiClient()
    wrong = []
    for method, path, spec in operations():
        if path in PUBLIC:
            continue
        response = call(anonymous, method, concrete(path, spec))
        if response.status_code != 401:
            wrong.append(f"{method.upper()} {path}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_it_keeps_a_resident_token_out_of_every_admin_operation(resident):
    """A resident's token gets 401, 403 or 404 on every back-office operation — never a 2xx,
    never a 5xx. (Applying for a back-office role is a resident's own operation under /admin/:
    those use the resident's token by design and are left out, as are the login steps.)"""
    client = ApiClient(resident)
    wrong = []
    checked = 0
    for method, path, spec in operations():
        if not path.startswith("/api/v1/admin/") or path in PUBLIC:
            continue
        schemes = {name for item in spec.get("security", []) for name in item}
        if "BearerAuth" in schemes:
            continue  # a resident's operation (the role application), not a back-office one
        checked += 1
        response = call(client, method, concrete(path, spec))
        if response.status_code not in {401, 403, 404}:
            wrong.append(f"{method.upper()} {path}: {response.status_code}")
    assert checked > 30
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", sorted(PUBLIC - {"/api/v1/admin/auth/otp", "/api/v1/auth/otp"}))
def test_the_public_operations_exist(db, path):
    """Each public operation the matrix exempts is really served (not a stale exemption), and
    so are the published keys."""
    method = "get" if path == "/api/v1/schema" else "post"
    response = call(ApiClient(), method, path)
    assert response.status_code in {200, 400}
    assert Client().get("/.well-known/healthcode/keys").status_code == 200
