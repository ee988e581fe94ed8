from __future__ import annotations

from django.http import HttpRequest, JsonResponse


def jwks(request: HttpRequest) -> JsonResponse:
    """The public verification keys as a JWK Set (RFC 7517). Filled in by the key store."""
    return JsonResponse({"keys": []})
