from __future__ import annotations

import hashlib

import pytest

from healthcode.accounts.models import ApiToken, User
from healthcode.accounts.services import (
    create_api_token,
    issue_api_token,
    revoke_api_token,
    user_for_token,
)
from healthcode.accounts.tests.conftest import Clock


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("13800138000")


def test_it_issues_a_token_and_stores_only_its_sha256(alice: User) -> None:
    """The secret is returned once; the database keeps its SHA-256 and a 30-day expiry."""
    raw = issue_api_token(user=alice)
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in token.key_hash
    assert (token.expires_at - token.created_at).days == 30
    assert user_for_token(raw) == alice


def test_it_finds_no_user_for_unknown_or_garbage_tokens(alice: User) -> None:
    """Unknown, empty and absurdly long tokens give None."""
    issue_api_token(user=alice)
    assert user_for_token("") is None
    assert user_for_token("not-a-token") is None
    assert user_for_token("x" * 10_000) is None


def test_it_finds_no_user_for_an_expired_token(alice: User, clock: Clock) -> None:
    """A token stops working when it expires."""
    issued = create_api_token(user=alice)
    clock.now = issued.expires_at
    assert user_for_token(issued.raw) is None


def test_it_finds_no_user_for_a_revoked_token(alice: User) -> None:
    """A revoked token stops working; revoking twice or revoking garbage is harmless."""
    raw = issue_api_token(user=alice)
    revoke_api_token(raw=raw)
    revoke_api_token(raw=raw)
    revoke_api_token(raw="garbage")
    assert user_for_token(raw) is None
    assert ApiToken.objects.get().revoked_at is not None


def test_it_finds_no_user_for_a_deactivated_account(alice: User) -> None:
    """Deactivating an account disables its tokens."""
    raw = issue_api_token(user=alice)
    alice.is_active = False
    alice.save()
    assert user_for_token(raw) is None


def test_it_records_last_use_at_most_once_a_minute(alice: User, clock: Clock) -> None:
    """last_used_at is written on first use, then only when a minute has passed."""
    raw = issue_api_token(user=alice)
    start = clock.now
    user_for_token(raw)
    assert ApiToken.objects.get().last_used_at == start
    clock.advance(seconds=30)
    user_for_token(raw)
    assert ApiToken.objects.get().last_used_at == start
    clock.advance(seconds=31)
    user_for_token(raw)
    assert ApiToken.objects.get().last_used_at == clock.now
