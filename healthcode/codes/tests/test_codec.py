"""The signed QR token codec (healthcode.lib.codec): layout, round trips, and rejection of every
kind of bad input with exactly one of its four errors."""

from __future__ import annotations

import random
import uuid
import zlib
from functools import cache

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcode.codes.tests import independent
from healthcode.lib import codec

NOW = 1_700_000_000
ALGORITHMS = ["ES256", "EdDSA"]
fuzz = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


@cache
def signing_key(algorithm: str) -> codec.PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


KID = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def claims(**changes: object) -> codec.Claims:
    values: dict[str, object] = {
        "iss": "NN",
        "iat": NOW,
        "exp": NOW + 180,
        "code_id": "6f1c1d4e-7a8b-4c3d-9e2f-0a1b2c3d4e5f",
        "color": "green",
        "masked_name": "赵*刚",
    }
    values.update(changes)
    return codec.Claims(**values)  # type: ignore[arg-type]


def published(algorithm: str) -> dict[bytes, codec.PublicKey]:
    return {KID: signing_key(algorithm).public_key()}


@cache
def token(algorithm: str) -> str:
    return codec.encode(claims(), signing_key(algorithm), KID)


def wrap(cose: bytes, prefix: str = codec.DEFAULT_PREFIX) -> str:
    """COSE bytes as token text: zlib, then base45, then the prefix."""
    return prefix + codec.b45encode(zlib.compress(cose, 9))


def sign1(
    algorithm: str,
    *,
    protected: bytes | None = None,
    payload: bytes | None = None,
    unprotected: object = None,
) -> bytes:
    """A COSE_Sign1 built with cbor2 and cryptography alone, signed with our test key."""
    alg = codec.ALGORITHMS[algorithm]
    protected = cbor2.dumps({1: alg, 4: KID}) if protected is None else protected
    payload = cbor2.dumps({1: "NN", 4: NOW + 180, 6: NOW}) if payload is None else payload
    message = cbor2.dumps(["Signature1", protected, b"", payload])
    key = signing_key(algorithm)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(message)
    else:
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    body = [protected, {} if unprotected is None else unprotected, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(18, body))


# --- round trips and layout ---------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_it_round_trips_the_claims(algorithm: str) -> None:
    """A token decodes, with the key of its kid, to exactly the claims it was made from."""
    text = token(algorithm)
    assert text.startswith("NN1:")
    assert codec.decode(text, published(algorithm), now=NOW) == claims()


@pytest.mark.parametrize("color", ["green", "yellow", "red"])
def test_it_carries_each_colour_and_any_name(color: str) -> None:
    """Every colour and a non-ASCII masked name survive the round trip."""
    original = claims(color=color, masked_name="欧**娜", code_id=str(uuid.uuid4()))
    text = codec.encode(original, signing_key("ES256"), KID)
    assert codec.decode(text, published("ES256"), now=NOW) == original


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_it_follows_the_dcc_layout(algorithm: str) -> None:
    """Under the prefix: base45 of zlib of a tagged COSE_Sign1 with {1: alg, 4: kid} protected,
    an empty unprotected map, CWT claims (1 iss, 4 exp, 6 iat, -65537 our code claim) and a raw
    64-byte signature (r||s for ES256) over ["Signature1", protected, b"", payload]."""
    text = token(algorithm)
    cose = zlib.decompress(independent.b45decode(text[len("NN1:") :]))
    message = cbor2.loads(cose)
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert cbor2.loads(protected) == {1: codec.ALGORITHMS[algorithm], 4: KID}
    assert unprotected == {}
    assert cbor2.loads(payload) == {
        1: "NN",
        4: NOW + 180,
        6: NOW,
        -65537: {1: claims().code_id, 2: "green", 3: "赵*刚"},
    }
    assert len(signature) == 64
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    public_key = signing_key(algorithm).public_key()
    if algorithm == "ES256":
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        public_key.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    else:
        public_key.verify(signature, to_be_signed)


def test_it_keeps_the_prefix_configurable() -> None:
    """A token made with another prefix decodes with that prefix and is malformed under ours."""
    text = codec.encode(claims(), signing_key("ES256"), KID, prefix="HC9:")
    assert text.startswith("HC9:")
    assert codec.decode(text, published("ES256"), now=NOW, prefix="HC9:") == claims()
    with pytest.raises(codec.Malformed):
        codec.decode(text, published("ES256"), now=NOW)


def test_it_refuses_to_encode_an_unknown_colour() -> None:
    """Encoding a colour other than green, yellow or red is a programming error."""
    with pytest.raises(ValueError):
        codec.encode(claims(color="blue"), signing_key("ES256"), KID)


def test_it_refuses_keys_of_other_curves() -> None:
    """Only P-256 and Ed25519 keys sign."""
    with pytest.raises(ValueError):
        codec.encode(claims(), ec.generate_private_key(ec.SECP384R1()), KID)


# --- base45 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
        (b"", ""),
        (b"\xff\xff", "FGW"),
    ],
)
def test_it_encodes_base45_as_rfc_9285(raw: bytes, text: str) -> None:
    """The RFC 9285 examples encode and decode both ways."""
    assert codec.b45encode(raw) == text
    assert codec.b45decode(text) == raw


@fuzz
@given(st.binary(max_size=600))
def test_it_agrees_with_a_literal_base45_decoder(raw: bytes) -> None:
    """For any bytes, our fast base45 round-trips and matches the RFC's algorithm read literally."""
    text = codec.b45encode(raw)
    assert codec.b45decode(text) == raw
    assert independent.b45decode(text) == raw


@pytest.mark.parametrize("text", ["GGW", "A", "ABCD", "ZZ", "abc", "AB~", "ÄBC", "AB\n"])
def test_it_rejects_invalid_base45(text: str) -> None:
    """Groups above 65535 (or a last pair above 255), a dangling character and characters
    outside the alphabet are errors."""
    with pytest.raises(ValueError):
        codec.b45decode(text)


# --- the four errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_it_rejects_an_expired_token(algorithm: str) -> None:
    """A token is valid up to the second before exp and expired from exp on."""
    text = token(algorithm)
    assert codec.decode(text, published(algorithm), now=NOW + 179).exp == NOW + 180
    with pytest.raises(codec.Expired) as excinfo:
        codec.decode(text, published(algorithm), now=NOW + 180)
    assert excinfo.value.code == "expired"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_it_rejects_an_unknown_kid(algorithm: str) -> None:
    """A kid that is not among the published keys gives UnknownKey."""
    other = {b"\x00" * 8: signing_key(algorithm).public_key()}
    with pytest.raises(codec.UnknownKey) as excinfo:
        codec.decode(token(algorithm), other, now=NOW)
    assert excinfo.value.code == "unknown_key"
    with pytest.raises(codec.UnknownKey):
        codec.decode(token(algorithm), {}, now=NOW)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_it_rejects_a_signature_by_another_key(algorithm: str) -> None:
    """The right kid with another key's public half, or a key of the other algorithm, gives
    BadSignature."""
    impostor = (
        ec.generate_private_key(ec.SECP256R1())
        if algorithm == "ES256"
        else ed25519.Ed25519PrivateKey.generate()
    )
    with pytest.raises(codec.BadSignature) as excinfo:
        codec.decode(token(algorithm), {KID: impostor.public_key()}, now=NOW)
    assert excinfo.value.code == "bad_signature"
    other_algorithm = "EdDSA" if algorithm == "ES256" else "ES256"
    with pytest.raises(codec.BadSignature):
        codec.decode(token(algorithm), published(other_algorithm), now=NOW)


def test_it_checks_the_signature_before_expiry() -> None:
    """An expired token with a bad signature is reported as a bad signature: unsigned claims
    are not trusted enough to report on."""
    impostor = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(codec.BadSignature):
        codec.decode(token("ES256"), {KID: impostor}, now=NOW + 10_000)


@fuzz
@given(data=st.data(), algorithm=st.sampled_from(ALGORITHMS))
def test_it_rejects_any_changed_cose_byte(data: st.DataObject, algorithm: str) -> None:
    """Changing any one byte of the COSE_Sign1 message (then compressing and encoding it again)
    makes the token rejected."""
    cose = bytearray(zlib.decompress(independent.b45decode(token(algorithm)[4:])))
    position = data.draw(st.integers(0, len(cose) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != cose[position]), label="value")
    cose[position] = value
    with pytest.raises(codec.TokenError):
        codec.decode(wrap(bytes(cose)), published(algorithm), now=NOW)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_it_rejects_every_bit_flip_of_the_cose_bytes(algorithm: str) -> None:
    """Exhaustively: flipping any single bit of the COSE_Sign1 message is rejected."""
    cose = zlib.decompress(independent.b45decode(token(algorithm)[4:]))
    for position in range(len(cose)):
        for bit in range(8):
            changed = bytearray(cose)
            changed[position] ^= 1 << bit
            with pytest.raises(codec.TokenError):
                codec.decode(wrap(bytes(changed)), published(algorithm), now=NOW)


@fuzz
@given(data=st.data(), algorithm=st.sampled_from(ALGORITHMS))
def test_it_rejects_any_changed_character(data: st.DataObject, algorithm: str) -> None:
    """Changing any one character of the token text makes it rejected."""
    text = token(algorithm)
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    alphabet = codec.B45_ALPHABET + "abcz~é健"
    char = data.draw(st.sampled_from(alphabet).filter(lambda c: c != text[position]))
    with pytest.raises(codec.TokenError):
        codec.decode(text[:position] + char + text[position + 1 :], published(algorithm), now=NOW)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_it_rejects_every_single_character_change(algorithm: str) -> None:
    """Exhaustively: no other base45 character in any position gives an accepted token, even
    where zlib would ignore the changed bits (deflate padding)."""
    text = token(algorithm)
    for position in range(len(text)):
        for char in codec.B45_ALPHABET:
            if char != text[position]:
                with pytest.raises(codec.TokenError):
                    changed = text[:position] + char + text[position + 1 :]
                    codec.decode(changed, published(algorithm), now=NOW)


def random_text(alphabet: str, length: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


@pytest.mark.parametrize(
    ("masked_name", "block_type"),
    [
        ("J*******n", 0b011),  # repetitive: zlib picks fixed Huffman codes
        (random_text("0123456789abcdef", 200), 0b101),  # long and skewed: dynamic codes
    ],
    ids=["fixed-huffman", "dynamic-huffman"],
)
def test_it_rejects_every_single_character_change_of_compressed_tokens(
    masked_name: str, block_type: int
) -> None:
    """Where zlib actually compresses (fixed or dynamic Huffman codes instead of a stored block),
    no single-character change is accepted either, although inflate ignores the final padding."""
    text = codec.encode(claims(masked_name=masked_name), signing_key("ES256"), KID)
    assert independent.b45decode(text[4:])[2] & 0b111 == block_type
    assert codec.decode(text, published("ES256"), now=NOW).masked_name == masked_name
    for position in range(4, len(text)):
        for char in codec.B45_ALPHABET:
            if char != text[position]:
                with pytest.raises(codec.TokenError):
                    changed = text[:position] + char + text[position + 1 :]
                    codec.decode(changed, published("ES256"), now=NOW)


# --- malformed input ----------------------------------------------------------------------------


def assert_malformed(text: str) -> None:
    with pytest.raises(codec.Malformed) as excinfo:
        codec.decode(text, published("ES256"), now=NOW)
    assert excinfo.value.code == "malformed"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "NN1:",
        "hello",
        "HC1:6BFOXN%TS3DH0YOJ58S",
        "nn1:" + "A" * 30,
        "NN1:%%%%",
        "NN1:abc",
        "NN1:ABCD",
        "NN1:GGW",
        "NN1:" + "健康码",
        "NN1:" + "0" * 5000,
    ],
)
def test_it_rejects_garbage_as_malformed(text: str) -> None:
    """Random text, a wrong prefix, bad base45 and oversized input are Malformed."""
    assert_malformed(text)


def test_it_rejects_non_text_as_malformed() -> None:
    """Bytes or None where text belongs are Malformed, not a TypeError."""
    for value in (None, b"NN1:", 42):
        assert_malformed(value)  # type: ignore[arg-type]


def test_it_rejects_bad_zlib_as_malformed() -> None:
    """Base45 of something that is not a complete zlib stream is Malformed."""
    cose = zlib.decompress(independent.b45decode(token("ES256")[4:]))
    compressed = zlib.compress(cose, 9)
    for bad in (
        b"not zlib at all",
        compressed[:-1],  # truncated
        compressed + b"\x00",  # trailing bytes
        zlib.compress(cose, 1),  # another level: another spelling of the same bytes
        zlib.compress(b"\x00" * 100_000, 9),  # decompresses beyond any token
        b"",
    ):
        assert_malformed("NN1:" + codec.b45encode(bad))


@pytest.mark.parametrize(
    "cose",
    [
        b"\xff\xfe\xfd",  # not CBOR
        cbor2.dumps("a string"),
        cbor2.dumps([b"", {}, b"", b""]),  # untagged
        cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])),  # COSE_Mac0, not Sign1
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""])),  # three elements
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b"", b""])),
        cbor2.dumps(cbor2.CBORTag(18, ["text", {}, b"", b""])),
        cbor2.dumps(cbor2.CBORTag(18, [b"", [], b"", b""])),
    ],
)
def test_it_rejects_wrong_cbor_as_malformed(cose: bytes) -> None:
    """Anything but a tagged four-element COSE_Sign1 of byte strings is Malformed."""
    assert_malformed(wrap(cose))


@pytest.mark.parametrize(
    "protected",
    [
        b"",
        b"\xff",
        cbor2.dumps([1, 2]),
        cbor2.dumps({1: -7}),  # no kid
        cbor2.dumps({4: KID}),  # no alg
        cbor2.dumps({1: -35, 4: KID}),  # ES384: not supported
        cbor2.dumps({1: "ES256", 4: KID}),
        cbor2.dumps({1: -7, 4: "kid as text"}),
        cbor2.dumps({1: -7, 4: KID, 2: [99]}),  # critical parameter we do not understand
        cbor2.dumps({1: True, 4: KID}),
    ],
)
def test_it_rejects_a_bad_protected_header_as_malformed(protected: bytes) -> None:
    """The protected header must be a map with a supported alg and a byte-string kid."""
    assert_malformed(wrap(sign1("ES256", protected=protected)))


def test_it_rejects_a_non_empty_unprotected_header_as_malformed() -> None:
    """Everything the verifier uses is signed: the unprotected header must be empty."""
    assert_malformed(wrap(sign1("ES256", unprotected={4: KID})))


def test_it_rejects_trailing_bytes_after_the_message_as_malformed() -> None:
    """A message followed by extra bytes is Malformed (cbor2 alone would ignore them)."""
    assert_malformed(wrap(sign1("ES256") + b"\x00"))


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff",
        cbor2.dumps([1, 2, 3]),
        cbor2.dumps({1: "NN", 4: NOW + 180, 6: NOW}),  # no code claim
        cbor2.dumps({1: "NN", 4: "tomorrow", 6: NOW, -65537: {1: "x", 2: "green", 3: "y"}}),
        cbor2.dumps({1: "NN", 4: True, 6: NOW, -65537: {1: "x", 2: "green", 3: "y"}}),
        cbor2.dumps({4: NOW + 180, 6: NOW, -65537: {1: "x", 2: "green", 3: "y"}}),
        cbor2.dumps({1: "NN", 4: NOW + 180, 6: NOW, -65537: {1: "x", 2: "blue", 3: "y"}}),
        cbor2.dumps({1: "NN", 4: NOW + 180, 6: NOW, -65537: {1: b"x", 2: "red", 3: "y"}}),
        cbor2.dumps({1: "NN", 4: NOW + 180, 6: NOW, -65537: ["x", "green", "y"]}),
    ],
)
def test_it_rejects_signed_but_wrong_claims_as_malformed(payload: bytes) -> None:
    """A correctly signed payload without the claims we need is Malformed."""
    assert_malformed(wrap(sign1("ES256", payload=payload)))


def test_it_accepts_a_message_built_by_another_cbor_encoder() -> None:
    """The codec reads standard COSE_Sign1 as cbor2 writes it, not only its own output."""
    payload = cbor2.dumps({1: "NN", 4: NOW + 180, 6: NOW, -65537: {1: "id", 2: "red", 3: "王*"}})
    decoded = codec.decode(wrap(sign1("ES256", payload=payload)), published("ES256"), now=NOW)
    assert (decoded.code_id, decoded.color, decoded.masked_name) == ("id", "red", "王*")


# --- fuzzing: nothing but TokenError escapes ----------------------------------------------------


def only_token_errors(text: str) -> None:
    try:
        codec.decode(text, published("ES256"), now=NOW)
    except codec.TokenError:
        pass


@fuzz
@given(st.text(max_size=400))
def test_it_raises_only_token_errors_for_any_text(text: str) -> None:
    """Any text at all either decodes or raises a TokenError, nothing else."""
    only_token_errors(text)
    only_token_errors("NN1:" + text)


@fuzz
@given(st.text(alphabet=codec.B45_ALPHABET, max_size=400))
def test_it_raises_only_token_errors_for_any_base45(text: str) -> None:
    """Any text in the base45 alphabet after the prefix raises only TokenError."""
    only_token_errors("NN1:" + text)


@fuzz
@given(st.binary(max_size=400))
def test_it_raises_only_token_errors_for_any_compressed_bytes(raw: bytes) -> None:
    """Any bytes, compressed and encoded as a token, raise only TokenError."""
    only_token_errors(wrap(raw))
    only_token_errors("NN1:" + codec.b45encode(raw))


cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.binary(max_size=40),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-70000, 70000) | st.text(max_size=5), children, max_size=5)
        | st.builds(cbor2.CBORTag, st.sampled_from([0, 1, 2, 4, 5, 18, 24, 30, 61]), children)
    ),
    max_leaves=20,
)


@fuzz
@given(
    protected=cbor_values,
    unprotected=cbor_values,
    payload=cbor_values,
    signature=st.binary(max_size=70),
    tagged=st.booleans(),
)
def test_it_raises_only_token_errors_for_any_cbor_structure(
    protected: object, unprotected: object, payload: object, signature: bytes, tagged: bool
) -> None:
    """Arbitrary CBOR in every slot of the message (including semantic tags) raises only
    TokenError."""
    try:
        parts = [cbor2.dumps(protected), unprotected, cbor2.dumps(payload), signature]
        body = cbor2.dumps(cbor2.CBORTag(18, parts) if tagged else parts)
        loose = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))
    except (cbor2.CBOREncodeError, TypeError, ValueError):
        return  # a value cbor2 cannot write (e.g. a datetime tag on the wrong type)
    only_token_errors(wrap(body))
    only_token_errors(wrap(loose))


@fuzz
@given(payload=cbor_values)
def test_it_raises_only_token_errors_for_any_signed_payload(payload: object) -> None:
    """Even a correctly signed payload of arbitrary CBOR raises only TokenError (Malformed)."""
    try:
        encoded = cbor2.dumps(payload)
    except (cbor2.CBOREncodeError, TypeError, ValueError):
        return
    only_token_errors(wrap(sign1("ES256", payload=encoded)))


def test_it_has_claims_that_cannot_change() -> None:
    """Claims are a frozen value."""
    with pytest.raises(AttributeError):
        claims().color = "red"  # type: ignore[misc]


def test_it_errors_name_their_reason() -> None:
    """Each error carries the code the API answers with, and they share one base class."""
    assert {
        cls.code for cls in (codec.Malformed, codec.UnknownKey, codec.BadSignature, codec.Expired)
    } == {
        "malformed",
        "unknown_key",
        "bad_signature",
        "expired",
    }
    assert all(
        issubclass(cls, codec.TokenError)
        for cls in (codec.Malformed, codec.UnknownKey, codec.BadSignature, codec.Expired)
    )


# --- the shortcuts agree with the general path --------------------------------------------------


@fuzz
@given(
    iss=st.text(max_size=30),
    iat=st.integers(0, 2**40),
    exp=st.integers(0, 2**40),
    code_id=st.text(max_size=300),
    color=st.sampled_from(sorted(codec.COLORS)),
    masked_name=st.text(max_size=40),
)
def test_it_reads_its_own_claims_like_cbor2_does(
    iss: str, iat: int, exp: int, code_id: str, color: str, masked_name: str
) -> None:
    """The cbor2-free reading of our own payload layout gives what cbor2 gives, or steps aside
    (None) for layouts it does not know (long texts, small or large times)."""
    payload = cbor2.dumps({1: iss, 4: exp, 6: iat, -65537: {1: code_id, 2: color, 3: masked_name}})
    own = codec._read_own_claims(payload)
    assert own is None or own == codec.Claims(iss, iat, exp, code_id, color, masked_name)
    short = all(len(text.encode()) < 256 for text in (iss, code_id, masked_name))
    if short and 2**16 <= iat < 2**32 and 2**16 <= exp < 2**32:
        assert own is not None


@fuzz
@given(st.binary(min_size=64, max_size=64) | st.sampled_from([bytes(64), b"\xff" * 64]))
def test_it_converts_raw_signatures_to_der_like_cryptography(raw: bytes) -> None:
    """The raw r||s to DER conversion matches cryptography's encode_dss_signature."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    assert codec._der_signature(raw) == encode_dss_signature(r, s)
