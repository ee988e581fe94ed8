"""The QR image of a signed token, as inline SVG for the code page."""

from __future__ import annotations

from functools import lru_cache

import segno

# Level Q (25 % recovery), as the EU DCC uses: codes are shown on phone screens with glare,
# cracks and dirt, and at our token length it still fits a version-12 symbol.
ERROR_CORRECTION = "q"
# Tokens live a few minutes and are re-rendered only when new, so a small cache holds them all.
CACHE_SIZE = 1024


@lru_cache(maxsize=CACHE_SIZE)
def qr_svg(payload: str) -> str:
    """Inline <svg> of the payload's QR code, sized by CSS (viewBox only, 4-module quiet zone).

    Memoised: each token is rendered once however often its page is shown."""
    qr = segno.make_qr(payload, error=ERROR_CORRECTION)
    return qr.svg_inline(scale=1, border=4, omitsize=True, svgclass="qr-code")
