"""The two baselines that the scan and check-in figures are compared with.

- `bare`: a JSON response and nothing else — what Django, the middleware stack and the server
  cost per request.
- `read_insert`: the least a request that verifies and records can do — read one health code
  by its key (the public id in the URL, the same unique index a scan or check-in uses) and
  insert one row (a Scan, the row a scan records), in autocommit, through the ORM.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from healthcode.codes.models import HealthCode, Scan


@require_GET
def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def read_insert(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    code = get_object_or_404(HealthCode, public_id=public_id)
    scan = Scan.objects.create(code=code, at=timezone.now(), result="valid", color=code.color)
    return JsonResponse({"id": str(code.public_id), "color": code.color, "scan": scan.pk})
