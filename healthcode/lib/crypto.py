"""Field encryption for personal identifiers (AES-256-GCM, key id in the ciphertext so keys
can rotate) and a keyed blind index (HMAC-SHA256) for equality lookup without decryption."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings


class DecryptionError(Exception):
    pass


def _derive(secret: str, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose from a configured secret of any length."""
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


@lru_cache(maxsize=8)
def _keys(config: str) -> tuple[str, dict[str, bytes]]:
    """Parse "kid:secret,kid:secret" (the first encrypts); a bare secret gets kid "k1"."""
    keys: dict[str, bytes] = {}
    first = ""
    for i, part in enumerate(p.strip() for p in config.split(",") if p.strip()):
        kid, sep, secret = part.partition(":")
        if not sep:
            kid, secret = f"k{i + 1}", part
        keys[kid] = _derive(secret, b"healthcode field encryption")
        first = first or kid
    if not keys:
        raise ValueError("no field encryption key configured")
    return first, keys


def encrypt_field(plaintext: str, *, context: str = "") -> str:
    """Encrypt to "kid$base64(nonce|ciphertext)"; `context` binds the value to its column."""
    return field_encrypter(context=context)(plaintext)


def decrypt_field(token: str, *, context: str = "") -> str:
    _, keys = _keys(settings.FIELD_ENCRYPTION_KEYS)
    kid, sep, body = token.partition("$")
    if not sep or kid not in keys:
        raise DecryptionError("unknown field encryption key")
    raw = base64.urlsafe_b64decode(body)
    try:
        return AESGCM(keys[kid]).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except Exception as exc:  # InvalidTag and friends
        raise DecryptionError("field could not be decrypted") from exc


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed hash of a normalised value: equal inputs give equal indexes, and without the
    key the index reveals nothing (ID numbers have too little entropy for a plain hash)."""
    return blind_indexer(purpose=purpose)(value)


def field_encrypter(*, context: str = "") -> Callable[[str], str]:
    """`encrypt_field` for many values (bulk loads): the key is parsed and the AES-GCM object
    built once, not per value (twice as fast). Same output, readable by `decrypt_field`."""
    kid, keys = _keys(settings.FIELD_ENCRYPTION_KEYS)
    seal = AESGCM(keys[kid]).encrypt
    associated = context.encode()
    prefix = f"{kid}$"

    def encrypt(plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = seal(nonce, plaintext.encode(), associated)
        return prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    return encrypt


def blind_indexer(*, purpose: str) -> Callable[[str], str]:
    """`blind_index` for many values: the keyed HMAC state is computed once and copied per
    value. Same output."""
    key = _derive(settings.BLIND_INDEX_KEY, b"healthcode blind index " + purpose.encode())
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def index(value: str) -> str:
        mac = keyed.copy()
        mac.update(value.strip().upper().encode())
        return mac.hexdigest()

    return index


def current_field_kid() -> str:
    """The id of the key that encrypts new values (the first of FIELD_ENCRYPTION_KEYS)."""
    return _keys(settings.FIELD_ENCRYPTION_KEYS)[0]


def field_kid(token: str) -> str:
    """The id of the key an encrypted value was written under ("" when not one of ours)."""
    kid, sep, _body = token.partition("$")
    return kid if sep else ""
