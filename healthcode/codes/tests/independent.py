"""An independent reading of our QR tokens for tests: a plain base45 decoder written from
RFC 9285 and pycose keys built from the published JWKs — none of healthcode.lib.codec."""

from __future__ import annotations

import base64

from pycose.keys import EC2Key, OKPKey
from pycose.keys.curves import P256, Ed25519

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45decode(text: str) -> bytes:
    """RFC 9285 §4.2, literally."""
    values = [ALPHABET.index(c) for c in text]
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i : i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 45 * 45
            out += n.to_bytes(2, "big")
        else:
            out.append(chunk[0] + chunk[1] * 45)
    return bytes(out)


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def cose_key_from_jwk(jwk: dict) -> EC2Key | OKPKey:
    """A pycose public key from an RFC 7517/7518/8037 JWK."""
    if jwk["kty"] == "EC":
        assert jwk["crv"] == "P-256"
        return EC2Key(crv=P256, x=b64url_decode(jwk["x"]), y=b64url_decode(jwk["y"]))
    if jwk["kty"] == "OKP":
        assert jwk["crv"] == "Ed25519"
        return OKPKey(crv=Ed25519, x=b64url_decode(jwk["x"]))
    raise ValueError(f"unsupported key type {jwk['kty']}")
