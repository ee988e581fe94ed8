"""Shared test helpers: personas and valid declarations (after healthchecks' hc/test.py)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.test import Client
from stdnum.cn import ric

from healthcode.accounts.models import User


def id_number(region: str = "450103", born: date = date(1990, 3, 7), seq: int = 123) -> str:
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def declaration(**overrides: Any) -> dict[str, Any]:
    """A valid declaration of someone who never left Nanning."""
    data: dict[str, Any] = {
        "name": "赵小刚",
        "id_number": id_number(),
        "address": "南宁市青秀区民族大道 100 号",
        "district": "450103",
        "returned_to_work": False,
        "employer": "",
        "returned_from_elsewhere": False,
        "contact_with_case": False,
        "symptoms": [],
        "temperature": "36.5",
        "attestation": True,
    }
    data.update(overrides)
    return data


def make_user(phone: str) -> User:
    return User.objects.create_user(phone=phone)


def bearer(user: User) -> dict[str, str]:
    from healthcode.accounts.services import issue_api_token

    return {"HTTP_AUTHORIZATION": f"Bearer {issue_api_token(user=user)}"}


class ApiClient:
    """A JSON client for /api/v1 acting as one account (or anonymous)."""

    def __init__(self, user: User | None = None, language: str = "zh-hans") -> None:
        self.client = Client()
        self.headers: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": language}
        if user is not None:
            self.headers.update(bearer(user))

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", **self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **self.headers
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **self.headers
        )

    def delete(self, path: str, body: Any = None) -> Any:
        return self.client.delete(
            f"/api/v1{path}",
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            **self.headers,
        )


def credit_code(seq: int = 1, region: str = "450100") -> str:
    """A valid unified social credit code (GB 32100): 91 (enterprise) + region + an
    organisation code with its own check character + the overall check character."""
    from stdnum.cn import uscc

    org = f"MA5K{seq:04d}"  # 8 characters of an organisation code
    org_check = _org_check(org)
    body = f"91{region}{org}{org_check}"
    return body + uscc.calc_check_digit(body)


def _org_check(org: str) -> str:
    """The check character of an organisation code (GB 11714)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(alphabet.index(c) * w for c, w in zip(org, weights, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


class AdminApiClient(ApiClient):
    """An ApiClient holding a back-office token (as after password + second factor)."""

    def __init__(self, user: User | None = None, language: str = "zh-hans") -> None:
        super().__init__(None, language=language)
        if user is not None:
            from healthcode.accounts.models import TokenScope
            from healthcode.accounts.services import issue_api_token

            raw = issue_api_token(user=user, scope=TokenScope.BACKOFFICE)
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"


def backoffice_client(user: User) -> Client:
    """A page client logged in to the back office (password and second factor passed)."""
    from django.utils import timezone

    from healthcode.backoffice.auth import SESSION_KEY

    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    return client
