"""The published QR verification keys."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from healthcode.codes.keys import current_signer, jwk_set

# Short, so that verifiers see a newly rotated key soon; they should also refetch on an unknown kid.
JWKS_MAX_AGE_SECONDS = 60


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """The public verification keys as a JWK Set (RFC 7517), each with its kid."""
    current_signer()  # the first signing key is created on first use, never an empty set
    response = JsonResponse(jwk_set())
    patch_cache_control(response, public=True, max_age=JWKS_MAX_AGE_SECONDS)
    return response
