"""The management system's API under /api/v1/admin/…: every call needs a back-office
token or a verified back-office session (password + second factor) and an admin role."""

from __future__ import annotations

from ninja import Router

from healthcode.backoffice.api import (
    accounts,
    audit,
    enterprises,
    lists,
    reviews,
    roster,
    rulesets,
    stats,
)
from healthcode.backoffice.auth import admin_auth

router = Router(auth=admin_auth, tags=["admin"])
for part in (accounts, enterprises, reviews, lists, roster, stats, rulesets, audit):
    router.add_router("", part.router)
