"""Idempotency keys: a retry with the same key answers the first answer; another request with it is refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

import anyio.to_thread

from ordertalk_messaging.storage.ports import Claimed, IdempotencyStore, InProgress, Mismatch, Replay

MAX_KEY_CHARS = 200
KEY_NAMESPACE = UUID("0f4d7a52-9b3e-5c18-8e27-6a1d3c9b5f40")


class KeyRejected(Exception):
    """The key cannot be honoured; ``status`` and ``detail`` say why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: status and JSON body text; ``replayed`` when it is a stored first answer."""

    status: int
    body: str
    replayed: bool = False


def check_key(key: str) -> str:
    """The key if it is usable (1–200 printable ASCII characters), KeyRejected (422) otherwise."""
    if not 1 <= len(key) <= MAX_KEY_CHARS or not all(" " < c <= "~" for c in key):
        raise KeyRejected(422, f"Idempotency-Key must be 1–{MAX_KEY_CHARS} printable ASCII characters without spaces")
    return key


def fingerprint(method: str, path: str, payload: Any) -> str:
    """A digest of the request, so the same key with another request can be told apart."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def message_id_for(scope: str, key: str) -> UUID:
    """The message id a keyed post gets when the client supplies none (same key, same id)."""
    return uuid5(KEY_NAMESPACE, f"{scope}\n{key}")


async def run_once(
    store: IdempotencyStore,
    scope: str,
    key: str,
    request_fingerprint: str,
    work: Callable[[], Awaitable[Answer]],
) -> Answer:
    """Execute ``work`` once per (scope, key); a success is stored and replayed to retries.

    A failure (an exception) releases the key so a retry executes again.
    """
    claim = await anyio.to_thread.run_sync(store.claim, scope, key, request_fingerprint)
    if isinstance(claim, Replay):
        return Answer(claim.status, claim.body, replayed=True)
    if isinstance(claim, Mismatch):
        raise KeyRejected(422, "this Idempotency-Key was already used with a different request")
    if isinstance(claim, InProgress):
        raise KeyRejected(409, "a request with this Idempotency-Key is still being processed; retry shortly")
    assert isinstance(claim, Claimed)
    try:
        answer = await work()
    except BaseException:
        await anyio.to_thread.run_sync(store.release, scope, key, claim.token)
        raise
    await anyio.to_thread.run_sync(store.complete, scope, key, claim.token, answer.status, answer.body)
    return answer
