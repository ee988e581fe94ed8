"""The signed QR token: CWT claims in a COSE_Sign1 message, zlib-compressed, base45-encoded and
prefixed, exactly as the EU Digital COVID Certificate does with "HC1:" (our prefix differs).

    claims --CBOR--> CWT (RFC 8392) --sign--> COSE_Sign1 (RFC 9052, tag 18, kid in the protected
    header) --> zlib --> base45 (RFC 9285) --> prefix + text

Pure Python on cbor2 and cryptography, no Django, so it can be tested by property and benchmarked
alone. `decode` raises only `TokenError` subclasses, whatever the input, and is written to spend
little time outside the signature check itself: base45 runs on big-integer lanes instead of a
Python loop, and the COSE envelope is read by hand. Every byte of an accepted token is checked, so a
token has exactly one text form (zlib would ignore padding bits; we do not).
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

DEFAULT_PREFIX: Final = "NN1:"

# COSE algorithm identifiers (RFC 9053) by JOSE/COSE name.
ES256: Final = -7
EDDSA: Final = -8
ALGORITHMS: Final[dict[str, int]] = {"ES256": ES256, "EdDSA": EDDSA}

COLORS: Final = frozenset({"green", "yellow", "red"})

# CWT claim keys (RFC 8392 §4) and our private claim. Keys below -65536 are "Private Use" in the
# IANA CWT Claims registry, so ours cannot collide with a registered claim (the DCC's hcert is -260).
CLAIM_ISS: Final = 1
CLAIM_EXP: Final = 4
CLAIM_IAT: Final = 6
CLAIM_HEALTH_CODE: Final = -65537
# Keys inside the private claim's map: short integers keep the QR code small.
HC_CODE_ID: Final = 1
HC_COLOR: Final = 2
HC_MASKED_NAME: Final = 3

# COSE header parameters (RFC 9052 §3.1).
HEADER_ALG: Final = 1
HEADER_CRIT: Final = 2
HEADER_KID: Final = 4

# Bounds on hostile input; a real token is about 250 characters.
MAX_TOKEN_CHARS: Final = 2048
MAX_COSE_BYTES: Final = 2048

type PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
type PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class TokenError(Exception):
    """A token that must not be accepted; `code` names the reason for API answers."""

    code: str = "invalid"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class Malformed(TokenError):
    code = "malformed"


class UnknownKey(TokenError):
    code = "unknown_key"


class BadSignature(TokenError):
    code = "bad_signature"


class Expired(TokenError):
    code = "expired"


@dataclass(frozen=True, slots=True)
class Claims:
    """What a token says: who issued it (iss), when (iat), until when (exp, Unix seconds), and
    which code it shows in which colour, with the holder's masked name. The time claims keep their
    CWT names."""

    iss: str
    iat: int
    exp: int
    code_id: str
    color: str
    masked_name: str


# --- base45 (RFC 9285) ----------------------------------------------------------------------------

B45_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INVALID: Final = 0xFF
_B45_VALUES: Final = bytes(
    B45_ALPHABET.index(chr(i)) if chr(i) in B45_ALPHABET else _B45_INVALID for i in range(256)
)
# Two base45 characters for every value below 45 * 45; the encoder looks pairs up here.
_B45_PAIRS: Final = tuple(B45_ALPHABET[i % 45] + B45_ALPHABET[i // 45] for i in range(45 * 45))


def b45encode(data: bytes) -> str:
    """Encode bytes as base45: each pair of bytes as three characters, a last odd byte as two."""
    even = len(data) & ~1
    values = array("H", data[:even])  # the byte pairs as 16-bit numbers, in one step
    if sys.byteorder == "little":
        values.byteswap()  # base45 reads each pair big-endian
    pairs, alphabet = _B45_PAIRS, B45_ALPHABET
    out = [pairs[v % 2025] + alphabet[v // 2025] for v in values]
    if even != len(data):
        out.append(pairs[data[-1]])
    return "".join(out)


_LOW_BYTE_MASKS: dict[int, int] = {}


def _low_byte_mask(groups: int) -> int:
    """0xff in the lowest byte of each 24-bit lane; cached, as tokens have a handful of lengths."""
    mask = int.from_bytes(b"\xff\x00\x00" * groups, "little")
    if groups <= 1024:
        _LOW_BYTE_MASKS[groups] = mask
    return mask


def b45decode(text: str) -> bytes:
    """Decode base45, raising ValueError for characters outside the alphabet, a dangling single
    character, or a group that overflows its bytes.

    Instead of looping over groups in Python, the character values are read as one big integer in
    which each 3-character group is a 24-bit lane; c0 + 45*c1 + 2025*c2 (at most 91124) then fits
    each lane without carries, and each lane's two low bytes are the group's two bytes.
    """
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("base45: character outside the alphabet") from None
    digits = raw.translate(_B45_VALUES)
    if _B45_INVALID in digits:
        raise ValueError("base45: character outside the alphabet")
    groups, rest = divmod(len(digits), 3)
    if rest == 1:
        raise ValueError("base45: dangling character")
    width = 3 * groups
    low = _LOW_BYTE_MASKS.get(groups) or _low_byte_mask(groups)
    lanes = int.from_bytes(digits[:width], "big")  # lane bytes: c0, c1, c2
    values = 2025 * (lanes & low) + 45 * ((lanes >> 8) & low) + ((lanes >> 16) & low)
    out = bytearray(values.to_bytes(width, "big"))  # lane bytes: overflow, high, low
    if out[0::3].count(0) != groups:
        raise ValueError("base45: group above 65535")
    del out[0::3]
    if rest == 2:
        value = digits[-2] + 45 * digits[-1]
        if value > 0xFF:
            raise ValueError("base45: final group above 255")
        out.append(value)
    return bytes(out)


# --- zlib -------------------------------------------------------------------------------------------

_ZLIB_LEVEL: Final = 9
# CMF/FLG for deflate with a 32 KiB window at level 9: what zlib.compress(data, 9) always writes.
_ZLIB_HEADER: Final = b"\x78\xda"


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data, _ZLIB_LEVEL)


def _inflate(data: bytes) -> bytes:
    """Decompress a zlib stream as `_deflate` writes it, and reject any other spelling of the same
    content (zlib itself ignores the padding bits of a deflate stream and the level hint)."""
    if len(data) < 8 or data[:2] != _ZLIB_HEADER:
        raise Malformed("not a zlib stream")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_COSE_BYTES)
    except zlib.error:
        raise Malformed("bad zlib stream") from None
    if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise Malformed("truncated, oversized or trailing zlib data")
    # For a few hundred bytes zlib writes one final block. Its first three bits say which kind.
    block = data[2]
    if block == 0b001:
        pass  # stored, final; the other five bits are padding and must be zero
    elif block & 0b111 == 0b011:
        # Fixed Huffman, final: it ends with the 7-bit end-of-block code 0000000 then zero
        # padding, so the last byte before the Adler-32 checksum is 0 or 1.
        if data[-5] > 1:
            raise Malformed("non-canonical deflate padding")
    elif block & 0b111 == 0b101:
        # Dynamic Huffman, final: too rare at this size to parse by hand; compare with ours.
        if _deflate(out) != data:
            raise Malformed("non-canonical deflate stream")
    else:
        raise Malformed("unexpected deflate block")
    return out


# --- COSE_Sign1 -------------------------------------------------------------------------------------

_COSE_SIGN1_TAG: Final = 0xD2  # tag 18 in one byte
_ARRAY_OF_4: Final = 0x84
_EMPTY_MAP: Final = 0xA0
_SIG1_CONTEXT: Final = b"\x84\x6aSignature1"  # array(4), tstr "Signature1"
_EMPTY_BSTR: Final = b"\x40"  # external_aad
_ECDSA_SHA256: Final = ec.ECDSA(hashes.SHA256())
_SIGNATURE_BYTES: Final = 64
_COORD_BYTES: Final = 32


def _bstr_head(n: int) -> bytes:
    """The shortest CBOR head of a byte string of length n."""
    if n < 24:
        return bytes((0x40 + n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return b"\x59" + n.to_bytes(2, "big")
    return b"\x5a" + n.to_bytes(4, "big")


def _read_bstr(data: bytes, pos: int) -> tuple[bytes, int]:
    """Read a definite, shortest-form byte string at pos; IndexError at the end of data."""
    head = data[pos]
    if 0x40 <= head <= 0x57:
        length, pos = head - 0x40, pos + 1
    elif head == 0x58:
        length, pos = data[pos + 1], pos + 2
        if length < 24:
            raise Malformed("non-canonical CBOR length")
    elif head == 0x59:
        length, pos = int.from_bytes(data[pos + 1 : pos + 3], "big"), pos + 3
        if length < 0x100:
            raise Malformed("non-canonical CBOR length")
    else:
        raise Malformed("expected a CBOR byte string")
    end = pos + length
    if end > len(data):
        raise Malformed("truncated CBOR byte string")
    return data[pos:end], end


def _split_sign1(data: bytes) -> tuple[bytes, bytes, bytes]:
    """Split a tagged COSE_Sign1 [protected, {}, payload, signature] into its byte strings.

    Read by hand rather than with cbor2: it is faster, and the envelope must be exact (cbor2
    ignores trailing bytes and accepts longer spellings of the same lengths)."""
    try:
        if data[0] != _COSE_SIGN1_TAG or data[1] != _ARRAY_OF_4:
            raise Malformed("not a tagged COSE_Sign1 message")
        protected, pos = _read_bstr(data, 2)
        if data[pos] != _EMPTY_MAP:
            raise Malformed("unprotected header must be empty")
        payload, pos = _read_bstr(data, pos + 1)
        signature, pos = _read_bstr(data, pos)
    except IndexError:
        raise Malformed("truncated COSE_Sign1 message") from None
    if pos != len(data):
        raise Malformed("trailing bytes after COSE_Sign1 message")
    return protected, payload, signature


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """CBOR of ["Signature1", protected, b"", payload] (RFC 9052 §4.4)."""
    return b"".join(
        (
            _SIG1_CONTEXT,
            _bstr_head(len(protected)),
            protected,
            _EMPTY_BSTR,
            _bstr_head(len(payload)),
            payload,
        )
    )


# What `encode` writes: {1: alg, 4: 8-byte kid}. Recognised without cbor2 to save a microsecond.
_PROTECTED_HEADS: Final = {
    b"\xa2\x01" + cbor2.dumps(alg) + b"\x04\x48": alg for alg in (ES256, EDDSA)
}


def _read_protected(protected: bytes) -> tuple[int, bytes]:
    if len(protected) == 13:
        alg = _PROTECTED_HEADS.get(protected[:5])
        if alg is not None:
            return alg, protected[5:]
    try:
        header = cbor2.loads(protected)
    except Exception:  # cbor2 raises many kinds on hostile input (ValueError, decimal errors, ...)
        raise Malformed("protected header is not CBOR") from None
    if type(header) is not dict:
        raise Malformed("protected header is not a map")
    alg = header.get(HEADER_ALG)
    kid = header.get(HEADER_KID)
    if type(alg) is not int or alg not in (ES256, EDDSA):
        raise Malformed("unsupported algorithm")
    if type(kid) is not bytes or not 0 < len(kid) <= 64:
        raise Malformed("missing key id")
    if HEADER_CRIT in header:
        raise Malformed("critical header parameters are not supported")
    return alg, kid


def _der_signature(raw: bytes) -> bytes:
    """The DER ECDSA-Sig-Value of a raw r||s signature; a faster encode_dss_signature."""
    r = raw[:_COORD_BYTES].lstrip(b"\0") or b"\0"
    s = raw[_COORD_BYTES:].lstrip(b"\0") or b"\0"
    if r[0] & 0x80:
        r = b"\0" + r
    if s[0] & 0x80:
        s = b"\0" + s
    return b"".join((b"\x30", bytes((len(r) + len(s) + 4, 2, len(r))), r, bytes((2, len(s))), s))


# The algorithm each concrete key class verifies, filled on first sight: isinstance against
# cryptography's abstract classes costs more than half a microsecond a call.
_KEY_ALGORITHMS: dict[type, int | None] = {}


def _key_algorithm(key: object) -> int | None:
    kind = type(key)
    if kind not in _KEY_ALGORITHMS:
        if isinstance(key, ec.EllipticCurvePublicKey):
            _KEY_ALGORITHMS[kind] = ES256
        elif isinstance(key, ed25519.Ed25519PublicKey):
            _KEY_ALGORITHMS[kind] = EDDSA
        else:
            _KEY_ALGORITHMS[kind] = None
    return _KEY_ALGORITHMS[kind]


def _verify(alg: int, key: PublicKey, signature: bytes, message: bytes) -> None:
    if len(signature) != _SIGNATURE_BYTES:
        raise BadSignature("signature has the wrong length")
    if _key_algorithm(key) != alg:
        raise BadSignature("algorithm does not match the key")
    # A key on another curve than P-256 cannot verify a forgery either: only its holder signs.
    try:
        if alg == ES256:
            key.verify(_der_signature(signature), message, _ECDSA_SHA256)  # type: ignore[call-arg]
        else:
            key.verify(signature, message)  # type: ignore[call-arg]
    except (InvalidSignature, ValueError):
        raise BadSignature("signature does not verify") from None


def _read_text(data: bytes, pos: int) -> tuple[str, int]:
    """A shortest-form text string of up to 255 bytes at pos; ValueError or IndexError if not."""
    head = data[pos]
    if 0x60 <= head <= 0x77:
        end = pos + 1 + head - 0x60
        return data[pos + 1 : end].decode(), end
    if head == 0x78 and data[pos + 1] >= 24:
        end = pos + 2 + data[pos + 1]
        return data[pos + 2 : end].decode(), end
    raise ValueError("not a short text string")


# Between iat and the code id in what `encode` writes: the private claim's key, a map of three.
_CLAIMS_MIDDLE: Final = cbor2.dumps(CLAIM_HEALTH_CODE) + b"\xa3" + cbor2.dumps(HC_CODE_ID)


def _read_own_claims(payload: bytes) -> Claims | None:
    """The claims laid out exactly as `encode` writes them, read without cbor2 (it saves about a
    tenth of the time spent outside the signature check); None for any other layout.

    Layout: {1: iss, 4: exp, 6: iat, -65537: {1: code id, 2: colour, 3: masked name}} with
    exp and iat as 4-byte integers (until 2106) and short texts."""
    try:
        if payload[0] != 0xA4 or payload[1] != CLAIM_ISS:
            return None
        iss, pos = _read_text(payload, 2)
        if (
            payload[pos] != CLAIM_EXP
            or payload[pos + 1] != 0x1A
            or payload[pos + 6] != CLAIM_IAT
            or payload[pos + 7] != 0x1A
            or payload[pos + 12 : pos + 19] != _CLAIMS_MIDDLE
        ):
            return None
        exp = int.from_bytes(payload[pos + 2 : pos + 6], "big")
        iat = int.from_bytes(payload[pos + 8 : pos + 12], "big")
        code_id, pos = _read_text(payload, pos + 19)
        if payload[pos] != HC_COLOR:
            return None
        color, pos = _read_text(payload, pos + 1)
        if payload[pos] != HC_MASKED_NAME:
            return None
        masked_name, pos = _read_text(payload, pos + 1)
    except (IndexError, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    if pos != len(payload) or color not in COLORS:
        return None
    return Claims(iss, iat, exp, code_id, color, masked_name)


def _read_claims(payload: bytes) -> Claims:
    own = _read_own_claims(payload)
    if own is not None:
        return own
    try:
        claims = cbor2.loads(payload)
    except Exception:
        raise Malformed("payload is not CBOR") from None
    if type(claims) is not dict:
        raise Malformed("payload is not a map")
    iss = claims.get(CLAIM_ISS)
    iat = claims.get(CLAIM_IAT)
    exp = claims.get(CLAIM_EXP)
    code = claims.get(CLAIM_HEALTH_CODE)
    if type(iss) is not str or type(iat) is not int or type(exp) is not int:
        raise Malformed("missing iss, iat or exp")
    if type(code) is not dict:
        raise Malformed("missing health code claim")
    code_id = code.get(HC_CODE_ID)
    color = code.get(HC_COLOR)
    masked_name = code.get(HC_MASKED_NAME)
    if type(code_id) is not str or type(masked_name) is not str or color not in COLORS:
        raise Malformed("missing code id, colour or name")
    return Claims(iss, iat, exp, code_id, color, masked_name)


# --- the token ------------------------------------------------------------------------------------


def algorithm_of(key: PrivateKey | PublicKey) -> str:
    """The algorithm name for a key: ES256 for P-256, EdDSA for Ed25519; ValueError otherwise."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    if (
        isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
        and key.curve.name == "secp256r1"
    ):
        return "ES256"
    raise ValueError("only P-256 (ES256) and Ed25519 (EdDSA) keys are supported")


def encode(
    claims: Claims, private_key: PrivateKey, kid: bytes, *, prefix: str = DEFAULT_PREFIX
) -> str:
    """Sign the claims with the key (ES256 or EdDSA, chosen by the key's type) as token text."""
    if claims.color not in COLORS:
        raise ValueError(f"unknown colour {claims.color!r}")
    if not 0 < len(kid) <= 64:
        raise ValueError("the key id must be 1 to 64 bytes")
    alg = ALGORITHMS[algorithm_of(private_key)]
    protected = cbor2.dumps({HEADER_ALG: alg, HEADER_KID: bytes(kid)})
    payload = cbor2.dumps(
        {
            CLAIM_ISS: claims.iss,
            CLAIM_EXP: claims.exp,
            CLAIM_IAT: claims.iat,
            CLAIM_HEALTH_CODE: {
                HC_CODE_ID: claims.code_id,
                HC_COLOR: claims.color,
                HC_MASKED_NAME: claims.masked_name,
            },
        }
    )
    message = _sig_structure(protected, payload)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        signature = private_key.sign(message)
    else:
        r, s = decode_dss_signature(private_key.sign(message, _ECDSA_SHA256))
        signature = r.to_bytes(_COORD_BYTES, "big") + s.to_bytes(_COORD_BYTES, "big")
    cose = b"".join(
        (
            bytes((_COSE_SIGN1_TAG, _ARRAY_OF_4)),
            _bstr_head(len(protected)),
            protected,
            bytes((_EMPTY_MAP,)),
            _bstr_head(len(payload)),
            payload,
            _bstr_head(len(signature)),
            signature,
        )
    )
    return prefix + b45encode(_deflate(cose))


def decode_cose(text: str, *, prefix: str = DEFAULT_PREFIX) -> bytes:
    """The COSE_Sign1 bytes inside token text, unverified (for tools and tests)."""
    if type(text) is not str or len(text) > MAX_TOKEN_CHARS:
        raise Malformed("not a token")
    if not text.startswith(prefix):
        raise Malformed("wrong prefix")
    try:
        compressed = b45decode(text[len(prefix) :])
    except ValueError:
        raise Malformed("bad base45") from None
    return _inflate(compressed)


def decode(
    text: str, public_keys: Mapping[bytes, PublicKey], *, now: int, prefix: str = DEFAULT_PREFIX
) -> Claims:
    """Verify token text and return its claims.

    Checks in order, raising the first failure: the encoding (`Malformed`), the key id
    (`UnknownKey`), the signature (`BadSignature`), the claims (`Malformed`), and expiry at `now`,
    in Unix seconds (`Expired`: exp is the first second the token is no longer valid).
    """
    protected, payload, signature = _split_sign1(decode_cose(text, prefix=prefix))
    alg, kid = _read_protected(protected)
    key = public_keys.get(kid)
    if key is None:
        raise UnknownKey("no published key with this key id")
    _verify(alg, key, signature, _sig_structure(protected, payload))
    claims = _read_claims(payload)
    if now >= claims.exp:
        raise Expired("the token has expired")
    return claims
