"""Tokens: what the verification and service-token caches may and may not change."""
from __future__ import annotations

import time

import jwt
import pytest

from flightbook.kernel.auth import ALGORITHM, Tokens
from flightbook.kernel.errors import Unauthorized

SECRET, SERVICE_SECRET = "k" * 32, "s" * 32


def test_a_remembered_token_still_expires_on_time():
    tokens = Tokens(SECRET, SERVICE_SECRET, service_ttl_seconds=1)
    token = tokens.issue_service_token("gateway", "payments")
    assert tokens.verify(token, audience=["payments"]).service == "gateway"
    assert tokens.verify(token, audience=["payments"]).service == "gateway"  # from memory
    time.sleep(1.1)
    with pytest.raises(Unauthorized) as caught:
        tokens.verify(token, audience=["payments"])
    assert caught.value.code == "token_expired"


def test_memory_is_per_audience_and_per_exact_token():
    tokens = Tokens(SECRET, SERVICE_SECRET)
    token = tokens.issue_service_token("gateway", "payments")
    assert tokens.verify(token, audience="payments").is_service
    with pytest.raises(Unauthorized):
        tokens.verify(token, audience="loyalty")
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(Unauthorized):
        tokens.verify(tampered, audience="payments")
    user_token, _ = tokens.issue_user_token(7, "ada", False)
    assert tokens.verify(user_token).user_id == 7
    forged = jwt.encode({"sub": "7", "exp": int(time.time()) + 60, "typ": "user"}, "x" * 32, algorithm=ALGORITHM)
    with pytest.raises(Unauthorized):
        tokens.verify(forged)


def test_service_tokens_are_reused_for_half_their_life_then_renewed():
    tokens = Tokens(SECRET, SERVICE_SECRET, service_ttl_seconds=2)
    first = tokens.service_token("payments", "flights")
    assert tokens.service_token("payments", "flights") == first
    assert tokens.service_token("payments", "loyalty") != first
    time.sleep(1.1)
    renewed = tokens.service_token("payments", "flights")
    assert renewed != first
    assert tokens.verify(renewed, audience="flights").service == "payments"


def test_the_memory_is_bounded():
    tokens = Tokens(SECRET, SERVICE_SECRET)
    tokens.VERIFIED_MAX = 10
    for user_id in range(25):
        token, _ = tokens.issue_user_token(user_id, f"u{user_id}", False)
        assert tokens.verify(token).user_id == user_id
    assert len(tokens._verified) <= 10
