"""The enterprise API under /api/v1/enterprises/…: one router made of the parts' routers."""

from __future__ import annotations

from ninja import Router

from healthcode.accounts.auth import api_auth
from healthcode.enterprises.api.core import router as core_router
from healthcode.enterprises.api.io import router as io_router
from healthcode.enterprises.api.reports import router as reports_router
from healthcode.enterprises.api.scanning import router as scanning_router

router = Router(auth=api_auth, tags=["enterprises"])
router.add_router("", core_router)
router.add_router("", io_router)
router.add_router("", reports_router)
router.add_router("", scanning_router)
