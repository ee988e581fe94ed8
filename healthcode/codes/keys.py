"""The QR signing key store: the current signing key, the retired keys that stay published until
every token they signed has expired, and issuing and verifying tokens with them.

Private keys are stored PEM-encoded and encrypted (AES-256-GCM, the key id as associated data)
under a key derived from settings.HEALTHCODE_KEY_ENCRYPTION_KEY; public halves as JWKs (RFC 7517).
The newest key that is not retired signs. Rotation makes a new key the signer and retires the
others, which stay published until retired_at + the token lifetime + PUBLISH_MARGIN.

Both the signer and the published public keys are cached in the process so that issuing and
verifying do not touch the database; the caches expire after a minute, and an unknown key id
reloads the public keys at once, so a key rotated by another process is picked up.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from healthcode.codes.models import HealthCode, SigningKey
from healthcode.lib import codec
from healthcode.lib.masking import mask_name

DEFAULT_ALGORITHM = "ES256"
# How long a process keeps using its cached signer and public keys before asking the database.
SIGNER_CACHE_SECONDS = 60
PUBLIC_KEYS_CACHE_SECONDS = 60
# An unknown key id reloads the public keys at most this often, so a stream of forged key ids
# cannot turn every verification into a database query.
UNKNOWN_KID_RELOAD_SECONDS = 1.0
# A retired key stays published for the token lifetime plus this margin: other processes may sign
# with it for up to SIGNER_CACHE_SECONDS after the rotation, and clocks of offline verifiers drift.
PUBLISH_MARGIN = timedelta(minutes=5)

_KID_BYTES = 8
_ENCRYPTION_VERSION = "v1"
_KEK_INFO = b"healthcode signing key encryption v1"
_NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class Signer:
    """The key that signs new tokens, decrypted and ready to use."""

    kid: bytes
    kid_text: str
    algorithm: str
    private_key: codec.PrivateKey


@dataclass(frozen=True, slots=True)
class _PublishedKeys:
    by_kid: dict[bytes, tuple[codec.PublicKey, float | None]]  # key, publish_until timestamp
    loaded_at: float  # time.monotonic()


class _KeysAt(Mapping[bytes, codec.PublicKey]):
    """The published keys as of `now`: a key past its publish_until is unknown."""

    __slots__ = ("_by_kid", "_now")

    def __init__(self, by_kid: dict[bytes, tuple[codec.PublicKey, float | None]], now: float):
        self._by_kid = by_kid
        self._now = now

    def __getitem__(self, kid: bytes) -> codec.PublicKey:
        key, until = self._by_kid[kid]
        if until is not None and self._now >= until:
            raise KeyError(kid)
        return key

    def get(self, kid: bytes, default: codec.PublicKey | None = None) -> codec.PublicKey | None:  # type: ignore[override]
        # Overridden for speed: Mapping.get goes through __getitem__ and an exception.
        entry = self._by_kid.get(kid)
        if entry is None or (entry[1] is not None and self._now >= entry[1]):
            return default
        return entry[0]

    def __iter__(self) -> Iterator[bytes]:
        return (kid for kid in self._by_kid if kid in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Caches:
    signer: tuple[Signer, float] | None = None  # and when it was loaded (monotonic)
    public: _PublishedKeys | None = None
    last_unknown_kid_reload: float = float("-inf")


_caches = _Caches()


def reset_key_caches() -> None:
    """Forget the cached signer and public keys (after a rotation, and between tests)."""
    _caches.signer = None
    _caches.public = None
    _caches.last_unknown_kid_reload = float("-inf")


# --- encodings --------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def kid_from_text(kid_text: str) -> bytes:
    """The COSE key id (bytes) for the JWK "kid" (base64url, as stored on SigningKey.kid)."""
    return _b64url_decode(kid_text)


def _kid_for(public_key: codec.PublicKey) -> bytes:
    """The first 8 bytes of the SHA-256 of the SubjectPublicKeyInfo, as the EU DCC derives kids."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:_KID_BYTES]


def public_jwk(public_key: codec.PublicKey, kid_text: str) -> dict[str, str]:
    """The public key as a JWK (RFC 7517/7518/8037) with kid, alg and use "sig"."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), "kid": kid_text,
                "alg": "EdDSA", "use": "sig"}  # fmt: skip
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
        "kid": kid_text,
        "alg": "ES256",
        "use": "sig",
    }


def public_key_from_jwk(jwk: Mapping[str, str]) -> codec.PublicKey:
    """The verification key of a JWK written by `public_jwk`."""
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        x = int.from_bytes(_b64url_decode(jwk["x"]), "big")
        y = int.from_bytes(_b64url_decode(jwk["y"]), "big")
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    raise ValueError("unsupported JWK")


def _key_encryption_key() -> bytes:
    """A 32-byte AES key for this one purpose, whatever the configured secret looks like."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEK_INFO)
    return hkdf.derive(settings.HEALTHCODE_KEY_ENCRYPTION_KEY.encode())


def _encrypt_private_key(private_key: codec.PrivateKey, kid_text: str) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(_NONCE_BYTES)
    # The kid as associated data: a ciphertext copied onto another row does not decrypt.
    sealed = AESGCM(_key_encryption_key()).encrypt(nonce, pem, kid_text.encode())
    return f"{_ENCRYPTION_VERSION}${_b64url(nonce + sealed)}"


def _decrypt_private_key(row: SigningKey) -> codec.PrivateKey:
    version, _, body = row.private_key_encrypted.partition("$")
    if version != _ENCRYPTION_VERSION:
        raise ValueError(f"signing key {row.kid}: unknown encryption version {version!r}")
    raw = _b64url_decode(body)
    pem = AESGCM(_key_encryption_key()).decrypt(
        raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], row.kid.encode()
    )
    private_key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"signing key {row.kid}: unsupported key type")
    return private_key


# --- the store --------------------------------------------------------------------------------------


def create_signing_key(
    algorithm: str = DEFAULT_ALGORITHM, *, now: datetime | None = None
) -> SigningKey:
    """Generate and store a key pair; being the newest unretired key, it signs from now on.

    Use `rotate_signing_keys` to replace the signer: it also retires the old keys."""
    if algorithm == "ES256":
        private_key: codec.PrivateKey = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"unsupported signing algorithm {algorithm!r}")
    kid_text = _b64url(_kid_for(private_key.public_key()))
    row = SigningKey.objects.create(
        kid=kid_text,
        algorithm=algorithm,
        private_key_encrypted=_encrypt_private_key(private_key, kid_text),
        public_jwk=public_jwk(private_key.public_key(), kid_text),
        created_at=now or timezone.now(),
    )
    reset_key_caches()
    return row


def rotate_signing_keys(*, algorithm: str | None = None, now: datetime | None = None) -> SigningKey:
    """Make a new key the signer and retire the others; they stay published until
    retired_at + HEALTHCODE_QR_TTL_SECONDS + PUBLISH_MARGIN. The algorithm defaults to the
    current signer's (ES256 for the first key)."""
    now = now or timezone.now()
    publish_until = now + timedelta(seconds=settings.HEALTHCODE_QR_TTL_SECONDS) + PUBLISH_MARGIN
    with transaction.atomic():
        active = list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        if algorithm is None:
            algorithm = active[0].algorithm if active else DEFAULT_ALGORITHM
        new_key = create_signing_key(algorithm, now=now)
        SigningKey.objects.filter(pk__in=[row.pk for row in active]).update(
            retired_at=now, publish_until=publish_until
        )
    reset_key_caches()
    return new_key


def published_signing_keys(now: datetime | None = None) -> QuerySet[SigningKey]:
    """The keys whose public halves are published at `now`, newest first."""
    now = now or timezone.now()
    return SigningKey.objects.filter(
        Q(publish_until__isnull=True) | Q(publish_until__gt=now)
    ).order_by("-created_at", "-id")


def _signer_from_db() -> Signer:
    row = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id").first()
    if row is None:
        # Two processes starting at once may both create one; the newer signs and both are
        # published, which is harmless.
        row = create_signing_key()
    return Signer(
        kid=kid_from_text(row.kid),
        kid_text=row.kid,
        algorithm=row.algorithm,
        private_key=_decrypt_private_key(row),
    )


def current_signer() -> Signer:
    """The key that signs new tokens (the first one is created on demand); cached a minute."""
    cached = _caches.signer
    if cached is not None and time.monotonic() - cached[1] < SIGNER_CACHE_SECONDS:
        return cached[0]
    signer = _signer_from_db()
    _caches.signer = (signer, time.monotonic())
    return signer


def public_keys(now: datetime | None = None) -> dict[bytes, codec.PublicKey]:
    """The verification keys published at `now`, by COSE key id (read from the database)."""
    return {
        kid_from_text(row.kid): public_key_from_jwk(row.public_jwk)
        for row in published_signing_keys(now)
    }


def jwk_set(now: datetime | None = None) -> dict[str, list[dict[str, str]]]:
    """The published keys as a JWK Set (RFC 7517 §5), newest first."""
    return {"keys": [dict(row.public_jwk) for row in published_signing_keys(now)]}


def _load_published_keys() -> _PublishedKeys:
    by_kid: dict[bytes, tuple[codec.PublicKey, float | None]] = {}
    for row in published_signing_keys():
        until = row.publish_until.timestamp() if row.publish_until else None
        by_kid[kid_from_text(row.kid)] = (public_key_from_jwk(row.public_jwk), until)
    published = _PublishedKeys(by_kid=by_kid, loaded_at=time.monotonic())
    _caches.public = published
    return published


def _cached_published_keys() -> _PublishedKeys:
    cached = _caches.public
    if cached is None or time.monotonic() - cached.loaded_at >= PUBLIC_KEYS_CACHE_SECONDS:
        cached = _load_published_keys()
    return cached


# --- tokens -----------------------------------------------------------------------------------------


def issue_token(code: HealthCode, *, now: datetime | None = None) -> tuple[str, datetime]:
    """A signed QR token for the code's current colour, and when it expires."""
    now = now or timezone.now()
    issued_at = int(now.timestamp())
    expires_at = issued_at + settings.HEALTHCODE_QR_TTL_SECONDS
    claims = codec.Claims(
        iss=settings.HEALTHCODE_QR_ISSUER,
        iat=issued_at,
        exp=expires_at,
        code_id=str(code.public_id),
        color=code.color,
        masked_name=mask_name(code.name),
    )
    signer = current_signer()
    token = codec.encode(
        claims, signer.private_key, signer.kid, prefix=settings.HEALTHCODE_QR_PREFIX
    )
    return token, datetime.fromtimestamp(expires_at, tz=UTC)


def verify_token(payload: str, *, now: datetime | None = None) -> codec.Claims:
    """The claims of a token signed by a published key, or a `codec.TokenError` naming why not
    (`Malformed`, `UnknownKey`, `BadSignature`, `Expired`)."""
    moment = (now or timezone.now()).timestamp()
    now_ts = int(moment)  # token times are whole seconds; key publication is exact
    prefix = settings.HEALTHCODE_QR_PREFIX
    published = _cached_published_keys()
    try:
        return codec.decode(payload, _KeysAt(published.by_kid, moment), now=now_ts, prefix=prefix)
    except codec.UnknownKey:
        # Perhaps another process rotated the key since we loaded ours.
        tick = time.monotonic()
        if tick - _caches.last_unknown_kid_reload < UNKNOWN_KID_RELOAD_SECONDS:
            raise
        _caches.last_unknown_kid_reload = tick
        published = _load_published_keys()
        return codec.decode(payload, _KeysAt(published.by_kid, moment), now=now_ts, prefix=prefix)
