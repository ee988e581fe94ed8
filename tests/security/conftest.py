"""Personas for the security suite: the enterprise personas (manager, scanner, employee, the
admins, resident, …) and the review personas (reviewer, requester, red_code, …)."""

from __future__ import annotations

from healthcode.backoffice.tests.reviews_personas import *  # noqa: F403
from healthcode.enterprises.tests.conftest import *  # noqa: F403
