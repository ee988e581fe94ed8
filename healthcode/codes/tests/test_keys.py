"""The signing key store (healthcode.codes.keys), the published JWK Set, the rotation command
and the QR image."""

from __future__ import annotations

import base64
import io
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from pycose.headers import KID
from pycose.messages import Sign1Message

from healthcode.codes import keys
from healthcode.codes.models import HealthCode, SigningKey
from healthcode.codes.qr import qr_svg
from healthcode.codes.tests import independent
from healthcode.lib import codec

pytestmark = pytest.mark.django_db

JWKS_URL = "/.well-known/healthcode/keys"


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Each test starts without cached keys (the database is rolled back between tests)."""
    keys.reset_key_caches()
    yield
    keys.reset_key_caches()


def a_code(color: str = "green") -> HealthCode:
    """An unsaved code: issuing a token reads only its public id, colour and name."""
    return HealthCode(name="赵小刚", color=color)


def fetch_jwks(client: Client) -> dict[str, dict[str, str]]:
    response = client.get(JWKS_URL)
    assert response.status_code == 200
    return {jwk["kid"]: jwk for jwk in response.json()["keys"]}


# --- the store --------------------------------------------------------------------------------------


def test_it_creates_the_first_signing_key_on_demand() -> None:
    """Without any key, the first signer is created (ES256), then reused from the cache."""
    assert not SigningKey.objects.exists()
    signer = keys.current_signer()
    row = SigningKey.objects.get()
    assert (signer.kid_text, signer.algorithm, row.algorithm) == (row.kid, "ES256", "ES256")
    assert signer.kid == base64.urlsafe_b64decode(row.kid + "=")
    assert keys.current_signer() is signer


def test_it_stores_the_private_key_encrypted_and_bound_to_its_row(settings) -> None:
    """The private key is not stored in the clear, decrypts only under the configured key, and
    a ciphertext copied onto another key's row does not decrypt."""
    first = keys.create_signing_key()
    second = keys.create_signing_key("EdDSA")
    assert "PRIVATE KEY" not in first.private_key_encrypted
    assert first.private_key_encrypted.startswith("v1$")
    assert codec.algorithm_of(keys._decrypt_private_key(first)) == "ES256"
    second.private_key_encrypted = first.private_key_encrypted
    with pytest.raises(InvalidTag):
        keys._decrypt_private_key(second)
    settings.HEALTHCODE_KEY_ENCRYPTION_KEY = "another key-encryption key"
    with pytest.raises(InvalidTag):
        keys._decrypt_private_key(first)


@pytest.mark.parametrize(
    ("algorithm", "fields"),
    [
        ("ES256", {"kty", "crv", "x", "y", "kid", "alg", "use"}),
        ("EdDSA", {"kty", "crv", "x", "kid", "alg", "use"}),
    ],
)
def test_it_describes_public_keys_as_jwks(algorithm: str, fields: set[str]) -> None:
    """The public half is a JWK with kid, alg and use "sig", and no private part."""
    row = keys.create_signing_key(algorithm)
    assert set(row.public_jwk) == fields
    assert (row.public_jwk["kid"], row.public_jwk["alg"], row.public_jwk["use"]) == (
        row.kid,
        algorithm,
        "sig",
    )
    assert keys.jwk_set() == {"keys": [row.public_jwk]}
    assert set(keys.public_keys()) == {keys.kid_from_text(row.kid)}


def test_it_refuses_unknown_algorithms() -> None:
    """Only ES256 and EdDSA keys are made."""
    with pytest.raises(ValueError):
        keys.create_signing_key("RS256")


# --- issuing and verifying --------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_it_issues_tokens_that_verify(settings, algorithm: str) -> None:
    """issue_token signs the code's id, colour and masked name for HEALTHCODE_QR_TTL_SECONDS;
    verify_token returns those claims."""
    settings.HEALTHCODE_QR_TTL_SECONDS = 120
    keys.rotate_signing_keys(algorithm=algorithm)
    code = a_code("yellow")
    now = timezone.now()
    token, expires_at = keys.issue_token(code, now=now)
    assert token.startswith(settings.HEALTHCODE_QR_PREFIX)
    assert expires_at == datetime.fromtimestamp(int(now.timestamp()) + 120, tz=UTC)
    claims = keys.verify_token(token, now=now)
    assert claims == codec.Claims(
        iss=settings.HEALTHCODE_QR_ISSUER,
        iat=int(now.timestamp()),
        exp=int(now.timestamp()) + 120,
        code_id=str(code.public_id),
        color="yellow",
        masked_name="赵*刚",
    )
    with pytest.raises(codec.Expired):
        keys.verify_token(token, now=expires_at)


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_it_verifies_independently_with_pycose_and_the_published_jwks(
    client: Client, settings, algorithm: str
) -> None:
    """A token verifies with pycose, using only the JWK Set served at
    /.well-known/healthcode/keys and a literal RFC 9285 base45 decoder."""
    keys.rotate_signing_keys(algorithm=algorithm)
    code = a_code()
    token, _ = keys.issue_token(code)
    jwks = fetch_jwks(client)

    prefix = settings.HEALTHCODE_QR_PREFIX
    assert token.startswith(prefix)
    cose = zlib.decompress(independent.b45decode(token[len(prefix) :]))
    message = Sign1Message.decode(cose)
    kid = base64.urlsafe_b64encode(message.phdr[KID]).rstrip(b"=").decode()
    message.key = independent.cose_key_from_jwk(jwks[kid])
    assert message.verify_signature()

    claims = cbor2.loads(message.payload)
    assert claims[1] == settings.HEALTHCODE_QR_ISSUER
    assert claims[4] - claims[6] == settings.HEALTHCODE_QR_TTL_SECONDS
    assert claims[-65537] == {1: str(code.public_id), 2: "green", 3: "赵*刚"}

    # ...and a tampered payload does not.
    forged = Sign1Message.decode(cose)
    forged.payload = cbor2.dumps({**claims, -65537: {**claims[-65537], 2: "red"}})
    forged.key = message.key
    assert not forged.verify_signature()


def test_it_verifies_from_the_cache_without_queries(django_assert_num_queries) -> None:
    """Once the keys are loaded, verifying and issuing do not query the database."""
    token, _ = keys.issue_token(a_code())
    keys.verify_token(token)
    with django_assert_num_queries(0):
        for _ in range(3):
            keys.verify_token(token)
            keys.issue_token(a_code())


def test_it_picks_up_a_key_rotated_by_another_process() -> None:
    """A token signed with a key this process has not loaded yet verifies: an unknown kid
    reloads the published keys."""
    keys.verify_token(keys.issue_token(a_code())[0])  # warm the cache
    stale = keys._caches.public
    new_row = keys.rotate_signing_keys()
    keys._caches.public = stale  # as if the rotation happened elsewhere
    new_key = keys._decrypt_private_key(new_row)
    now = int(timezone.now().timestamp())
    claims = codec.Claims("NN", now, now + 60, "id", "green", "王*")
    token = codec.encode(claims, new_key, keys.kid_from_text(new_row.kid))
    assert keys.verify_token(token) == claims


def test_it_reloads_the_keys_every_minute(monkeypatch, django_assert_num_queries) -> None:
    """The cached public keys are reloaded after PUBLIC_KEYS_CACHE_SECONDS."""
    token, _ = keys.issue_token(a_code())
    keys.verify_token(token)
    clock = keys.time.monotonic() + keys.PUBLIC_KEYS_CACHE_SECONDS + 1
    monkeypatch.setattr(keys.time, "monotonic", lambda: clock)
    with django_assert_num_queries(1):
        keys.verify_token(token)


def test_it_limits_reloads_for_unknown_kids(django_assert_num_queries) -> None:
    """A flood of tokens with forged key ids costs at most one reload per second."""
    keys.verify_token(keys.issue_token(a_code())[0])
    stranger = ec.generate_private_key(ec.SECP256R1())
    now = int(timezone.now().timestamp())
    forged = codec.encode(
        codec.Claims("NN", now, now + 60, "id", "green", "王*"), stranger, b"x" * 8
    )
    with django_assert_num_queries(1):
        for _ in range(5):
            with pytest.raises(codec.UnknownKey):
                keys.verify_token(forged)


# --- rotation -----------------------------------------------------------------------------------


def test_it_keeps_a_retired_key_published_until_its_tokens_have_expired(settings) -> None:
    """After a rotation the new key signs; tokens of the old key still verify, and the old key
    stays in the JWK Set, until retired_at + TTL + margin; then it is gone from both."""
    start = timezone.now()
    old_row = keys.rotate_signing_keys(now=start)
    old_token, _ = keys.issue_token(a_code(), now=start)

    rotated_at = start + timedelta(seconds=30)
    new_row = keys.rotate_signing_keys(now=rotated_at)
    old_row.refresh_from_db()
    publish_until = rotated_at + timedelta(seconds=settings.HEALTHCODE_QR_TTL_SECONDS)
    publish_until += keys.PUBLISH_MARGIN
    assert (old_row.retired_at, old_row.publish_until) == (rotated_at, publish_until)
    assert new_row.retired_at is None and new_row.publish_until is None

    new_token, _ = keys.issue_token(a_code(), now=rotated_at)
    assert keys.current_signer().kid_text == new_row.kid
    assert codec.decode_cose(new_token, prefix=settings.HEALTHCODE_QR_PREFIX) != codec.decode_cose(
        old_token, prefix=settings.HEALTHCODE_QR_PREFIX
    )
    assert keys.verify_token(old_token, now=rotated_at + timedelta(seconds=60))
    assert keys.verify_token(new_token, now=rotated_at + timedelta(seconds=60))

    published_then = {
        jwk["kid"] for jwk in keys.jwk_set(now=publish_until - timedelta(seconds=1))["keys"]
    }
    assert published_then == {old_row.kid, new_row.kid}
    published_after = {jwk["kid"] for jwk in keys.jwk_set(now=publish_until)["keys"]}
    assert published_after == {new_row.kid}
    assert set(keys.public_keys(now=publish_until)) == {keys.kid_from_text(new_row.kid)}
    with pytest.raises(codec.UnknownKey):
        keys.verify_token(old_token, now=publish_until)


def test_it_rotates_to_the_same_algorithm_unless_told(settings) -> None:
    """Rotation keeps the signer's algorithm by default and switches when asked."""
    keys.rotate_signing_keys(algorithm="EdDSA")
    assert keys.rotate_signing_keys().algorithm == "EdDSA"
    assert keys.rotate_signing_keys(algorithm="ES256").algorithm == "ES256"
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1


def test_the_command_rotates_and_reports_what_stays_published() -> None:
    """rotate_signing_keys prints the new kid and until when each old key stays published."""
    old_row = keys.rotate_signing_keys()
    out = io.StringIO()
    call_command("rotate_signing_keys", "--algorithm", "EdDSA", stdout=out)
    new_row = SigningKey.objects.filter(retired_at__isnull=True).get()
    old_row.refresh_from_db()
    assert new_row.algorithm == "EdDSA" and new_row.kid != old_row.kid
    output = out.getvalue()
    assert new_row.kid in output
    assert old_row.kid in output and old_row.publish_until.isoformat() in output


# --- the JWK Set view ---------------------------------------------------------------------------


def test_it_serves_the_jwk_set_with_a_short_cache_lifetime(client: Client) -> None:
    """GET /.well-known/healthcode/keys answers the JWK Set with a short public max-age."""
    row = keys.create_signing_key()
    response = client.get(JWKS_URL)
    assert response.status_code == 200
    assert response.json() == {"keys": [row.public_jwk]}
    assert "max-age=60" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_it_allows_only_get_on_the_jwk_set(client: Client, method: str) -> None:
    """Other methods on the JWK Set get 405."""
    assert getattr(client, method)(JWKS_URL).status_code == 405


# --- the QR image -------------------------------------------------------------------------------


def test_it_renders_each_token_as_svg_once() -> None:
    """qr_svg draws a scalable inline SVG and memoises it per token."""
    token, _ = keys.issue_token(a_code())
    qr_svg.cache_clear()
    svg = qr_svg(token)
    assert svg.startswith("<svg") and "viewBox" in svg and "width=" not in svg.split(">")[0]
    assert qr_svg(token) is svg
    assert qr_svg.cache_info().hits == 1
