"""Verified bearer tokens are remembered, never past their expiry; invalid ones are never remembered."""

from __future__ import annotations

import time

import pytest
from fastapi import Request

from ordertalk_messaging.entrypoints.api.deps import VerifiedTokens
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.problems import Problem

CODEC = TokenCodec(AuthSettings(jwt_secret="unit-secret-0123456789abcdef-0123456"))
JANE = Principal("customer", "customer-1", "Jane")


def request_with(token: str) -> Request:
    return Request({"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]})


class CountingCodec(TokenCodec):
    calls = 0

    def verify(self, token: str) -> Principal:
        type(self).calls += 1
        return super().verify(token)


def test_a_verified_token_is_remembered() -> None:
    codec = CountingCodec(CODEC.settings)
    tokens = VerifiedTokens(codec)
    token = CODEC.mint(JANE)
    assert tokens.principal(request_with(token)) == JANE
    assert tokens.principal(request_with(token)) == JANE
    assert CountingCodec.calls == 1


def test_never_past_the_tokens_expiry_and_never_an_invalid_token() -> None:
    tokens = VerifiedTokens(CODEC, ttl_seconds=3600)
    expiring = CODEC.mint(JANE, ttl_seconds=1)
    assert tokens.principal(request_with(expiring)) == JANE
    (_, kept_until), *_ = tokens._entries.values()
    assert kept_until <= time.time() + 1
    forged = CODEC.mint(JANE)[:-2] + "xx"
    for _ in range(2):
        with pytest.raises(Problem) as info:
            tokens.principal(request_with(forged))
        assert info.value.status == 401
    assert len(tokens._entries) == 1
