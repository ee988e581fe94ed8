"""The enterprise API under /api/v1/enterprises/…: the core router is the parent (so that
`/enterprises` itself answers without a trailing slash), the other parts hang under it."""

from __future__ import annotations

from healthcode.accounts.auth import api_auth
from healthcode.enterprises.api.core import router
from healthcode.enterprises.api.io import router as io_router
from healthcode.enterprises.api.reports import router as reports_router
from healthcode.enterprises.api.scanning import router as scanning_router

router.auth = api_auth
router.tags = ["enterprises"]
router.add_router("", io_router)
router.add_router("", reports_router)
router.add_router("", scanning_router)
