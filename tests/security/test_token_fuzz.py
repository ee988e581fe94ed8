"""Malformed tokens through the real scan API (issue 5, "Bad input": malformed tokens of every
kind rejected, never 500). The codec's own fuzzing is in healthcode/codes/tests/test_codec.py
(any text, any base45, any bytes, any CBOR): this adds the HTTP layer on top — whatever a
scanner submits, the answer is a clean rejection, never a server error."""

from __future__ import annotations

import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcode.lib import codec
from healthcode.testing import ApiClient

fuzz = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

tokens = (
    st.text(max_size=300)
    | st.text(alphabet=codec.B45_ALPHABET, max_size=300).map(lambda t: "NN1:" + t)
    | st.binary(max_size=200).map(lambda b: "NN1:" + codec.b45encode(b))
    | st.binary(max_size=200).map(lambda b: "NN1:" + codec.b45encode(zlib.compress(b)))
)


@fuzz
@given(payload=tokens)
def test_it_rejects_any_malformed_token_through_the_api(resident, payload):
    """Any text, base45 or (compressed) bytes posted as a token answers 200 `valid: false`
    (or 400 for a payload the schema refuses) — never a 5xx, never a valid scan."""
    response = ApiClient(resident).post("/scans", {"payload": payload})
    assert response.status_code in {200, 400}, (payload, response.content[:300])
    if response.status_code == 200:
        body = response.json()
        assert body["valid"] is False
        assert body["error"] in {"malformed", "bad_signature", "unknown_key", "expired"}
