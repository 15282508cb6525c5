"""Idempotency keys: a retry with the same key answers the first answer; another request with it is refused."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from ordertalk_messaging.storage.ports import IdempotencyStore, KeyUse, Mismatch, Replay

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


class InFlight:
    """Keys whose request is executing in this process (a concurrent duplicate answers 409)."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def enter(self, scope: str, key: str) -> bool:
        """Take the key; False if a request with it is executing."""
        with self._lock:
            if (scope, key) in self._keys:
                return False
            self._keys.add((scope, key))
            return True

    def leave(self, scope: str, key: str) -> None:
        """Give the key back."""
        with self._lock:
            self._keys.discard((scope, key))


class PendingAnswer:
    """The answer of a keyed write, kept in the write's own transaction when the store allows (one commit).

    The route sets ``render`` (outcome -> Answer) and passes this object to the command as its ``InSave``;
    the recorder then calls ``write`` inside the events' transaction. If it was never called (a store
    without that support, a write that stored nothing, a failed save), ``run_once`` records the answer in
    a commit of its own, as before.
    """

    def __init__(self, store: IdempotencyStore, scope: str, key: str, request_fingerprint: str) -> None:
        self.store, self.scope, self.key, self.fingerprint = store, scope, key, request_fingerprint
        self.render: Callable[[Any], Answer] | None = None
        self.kept: Answer | None = None
        self.kept_use: KeyUse = None

    def write(self, cursor: Any, outcome: Any) -> None:
        """Store the rendered answer with the events (called by the recorder before the commit)."""
        if self.render is None:
            return
        answer = self.render(outcome)
        self.kept_use = self.store.record_in(cursor, self.scope, self.key, self.fingerprint, answer.status, answer.body)
        self.kept = answer

    def rolled_back(self) -> None:
        """The transaction that held the answer was rolled back."""
        self.kept, self.kept_use = None, None


def run_once(
    store: IdempotencyStore,
    in_flight: InFlight,
    scope: str,
    key: str,
    request_fingerprint: str,
    work: Callable[[PendingAnswer], Answer],
) -> Answer:
    """Execute ``work`` once per (scope, key); a success is stored and replayed to retries.

    Blocking: call it in a worker thread. A stored answer is replayed without running ``work``; a
    concurrent duplicate in this process is refused (409); a failure stores nothing, so a retry executes
    again. ``work`` may keep the answer in its own save's transaction through the PendingAnswer it is
    given (one commit for the events and the answer); otherwise the answer is stored in one commit after
    the work. If another process stored an answer for the key meanwhile, that first answer is given
    (posts are de-duplicated by message id in the thread).
    """
    found = store.lookup(scope, key, request_fingerprint)
    if isinstance(found, Replay):
        return Answer(found.status, found.body, replayed=True)
    if isinstance(found, Mismatch):
        raise KeyRejected(422, "this Idempotency-Key was already used with a different request")
    if not in_flight.enter(scope, key):
        raise KeyRejected(409, "a request with this Idempotency-Key is still being processed; retry shortly")
    try:
        pending = PendingAnswer(store, scope, key, request_fingerprint)
        answer = work(pending)
        if pending.kept is not None:
            stored = pending.kept_use
        else:
            stored = store.record(scope, key, request_fingerprint, answer.status, answer.body)
    finally:
        in_flight.leave(scope, key)
    if isinstance(stored, Replay):
        return Answer(stored.status, stored.body, replayed=True)
    return answer
