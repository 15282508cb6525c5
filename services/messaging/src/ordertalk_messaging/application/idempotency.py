"""Idempotency keys: a retry with the same key answers the first answer; another request with it is refused.

Which answers a key keeps (as Stripe does, every answer of a request that started executing): a
success, and a refusal by the thread's rules once the command was decided on its thread (a dispute
already open or none open, text the rules refuse). A retry with the key after the thread changed
still gets that first answer. Not kept, so a retry with the key executes: refusals before the command
was decided (a refused key, the key's first request still in flight), an unknown order (it may be
registered later) and a busy writer. How an answer is rendered (its status and body) is the
entrypoint's: here an ``Answer`` is kept and replayed as it was given.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid5

from ordertalk_messaging.application.ports import IdempotencyStore, KeyUse, Mismatch, Replay
from ordertalk_messaging.application.writer import Change, Decide, WriteOutcome
from ordertalk_messaging.domain.errors import DisputeConflict, DomainError, InvalidText

if TYPE_CHECKING:
    from ordertalk_messaging.application.caller import Caller

T = TypeVar("T")

MAX_KEY_CHARS = 200
KEY_NAMESPACE = UUID("0f4d7a52-9b3e-5c18-8e27-6a1d3c9b5f40")
KEPT_REFUSALS = (DisputeConflict, InvalidText)  # refusals by the thread's rules: a key keeps them as its answer


class KeyRejected(Exception):
    """The key cannot be honoured; ``detail`` says why (the subclass, which refusal it is)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class KeyInvalid(KeyRejected):
    """The key is not 1–200 printable ASCII characters."""


class KeyReused(KeyRejected):
    """The key was used before with a different request."""


class KeyInFlight(KeyRejected):
    """A request with the key is executing in this process."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as the entrypoint rendered it (status and body text); ``replayed`` when it is a stored first answer."""

    status: int
    body: str
    replayed: bool = False


def check_key(key: str) -> str:
    """The key if it is usable (1–200 printable ASCII characters), KeyInvalid otherwise."""
    if not 1 <= len(key) <= MAX_KEY_CHARS or not all(" " < c <= "~" for c in key):
        raise KeyInvalid(f"Idempotency-Key must be 1–{MAX_KEY_CHARS} printable ASCII characters without spaces")
    return key


def fingerprint(method: str, path: str, payload: Any) -> str:
    """A digest of the request, so the same key with another request can be told apart."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def message_id_for(scope: str, key: str) -> UUID:
    """The message id a keyed post gets when the client supplies none (same key, same id)."""
    return uuid5(KEY_NAMESPACE, f"{scope}\n{key}")


class InFlight:
    """Keys whose request is executing in this process (a concurrent duplicate is refused, KeyInFlight)."""

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


class KeyGuard:
    """One request's Idempotency-Key: replays a stored answer, refuses reuse or a concurrent duplicate, keeps answers.

    ``begin`` before the work (an Answer to replay, or None to go ahead); the answer is kept either
    inside the work's own transaction (``keep_all_in``, when the store can) or by ``finish`` in a commit of
    its own; ``end`` lets a later request with the key in.
    """

    def __init__(self, store: IdempotencyStore, in_flight: InFlight, scope: str, key: str, request_fingerprint: str):
        self.store, self.in_flight = store, in_flight
        self.scope, self.key, self.fingerprint = scope, key, request_fingerprint
        self.kept: Answer | None = None
        self.kept_use: KeyUse = None
        self.looked_up: tuple[KeyUse] | None = None  # what a batched lookup found, if one ran
        self._entered = False

    @staticmethod
    def look_up_all(guards: Sequence[KeyGuard]) -> None:
        """Look every guard's key up in one query per store (``begin`` then uses what was found)."""
        by_store: dict[int, list[KeyGuard]] = {}
        for guard in guards:
            by_store.setdefault(id(guard.store), []).append(guard)
        for group in by_store.values():
            found = group[0].store.lookup_many([(g.scope, g.key, g.fingerprint) for g in group])
            for guard, use in zip(group, found, strict=True):
                guard.looked_up = (use,)

    def begin(self) -> Answer | None:
        """The stored answer to replay, or None after taking the key for this request (KeyRejected if refused)."""
        if self.looked_up is not None:
            (found,) = self.looked_up
        else:
            found = self.store.lookup(self.scope, self.key, self.fingerprint)
        if isinstance(found, Replay):
            return Answer(found.status, found.body, replayed=True)
        if isinstance(found, Mismatch):
            raise KeyReused("this Idempotency-Key was already used with a different request")
        if not self.in_flight.enter(self.scope, self.key):
            raise KeyInFlight("a request with this Idempotency-Key is still being processed; retry shortly")
        self._entered = True
        return None

    @staticmethod
    def keep_all_in(cursor: Any, answers: Sequence[tuple[KeyGuard, Answer]]) -> None:
        """Keep each guard's answer in the transaction of ``cursor``, committed or rolled back with it."""
        by_store: dict[int, list[tuple[KeyGuard, Answer]]] = {}
        for guard, answer in answers:
            by_store.setdefault(id(guard.store), []).append((guard, answer))
        for group in by_store.values():
            rows = [(g.scope, g.key, g.fingerprint, a.status, a.body) for g, a in group]
            uses = group[0][0].store.record_many_in(cursor, rows)
            for (guard, answer), use in zip(group, uses, strict=True):
                guard.kept_use, guard.kept = use, answer

    def rolled_back(self) -> None:
        """The transaction that held the kept answer was rolled back."""
        self.kept, self.kept_use = None, None

    def finish(self, answer: Answer) -> Answer:
        """Keep ``answer`` unless the work's transaction did; answers what a retry will be answered.

        If another process stored an answer for the key meanwhile, that first answer is given (posts
        are de-duplicated by message id in the thread).
        """
        if self.kept is not None:
            stored, answer = self.kept_use, self.kept
        else:
            stored = self.store.record(self.scope, self.key, self.fingerprint, answer.status, answer.body)
        if isinstance(stored, Replay):
            return Answer(stored.status, stored.body, replayed=True)
        return answer

    def end(self) -> None:
        """Give the key back (a later request with it is answered from the store)."""
        if self._entered:
            self._entered = False
            self.in_flight.leave(self.scope, self.key)


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """A request under an idempotency key: the caller's scope, the key as given and the request's fingerprint."""

    scope: str
    key: str
    fingerprint: str


class KeyLedger:
    """The idempotency keys of a process: the durable first answers and the keys executing here."""

    def __init__(self, store: IdempotencyStore, in_flight: InFlight) -> None:
        self.store, self.in_flight = store, in_flight

    def guard(self, request: KeyedRequest) -> KeyGuard:
        """The guard of the request's key (KeyInvalid if the key is not usable)."""
        return KeyGuard(self.store, self.in_flight, request.scope, check_key(request.key), request.fingerprint)


def run_once(guard: KeyGuard, work: Callable[[], Answer]) -> Answer:
    """Execute ``work`` once per key; a success is stored and replayed to retries, a failure stores nothing.

    Blocking: call it in a worker thread. For commands on one thread use ``KeyedChange``, which keeps
    the answer in the events' own commit.
    """
    replay = guard.begin()
    if replay is not None:
        return replay
    try:
        return guard.finish(work())
    finally:
        guard.end()


class AnsweredChange(Change[T, Answer]):
    """A change on one thread with a rendered answer: ``render`` turns its outcome into an ``Answer``."""

    def __init__(
        self, order_id: str, caller: Caller, decide: Decide[T], render: Callable[[WriteOutcome[T]], Answer]
    ) -> None:
        super().__init__(order_id, caller, decide)
        self.render = render

    def result(self, outcome: WriteOutcome[T]) -> Answer:
        """The rendered outcome."""
        return self.render(outcome)


class KeyedChange(AnsweredChange[T]):
    """An AnsweredChange under an Idempotency-Key: its answer is kept in the events' own commit when the store can.

    ``refusal`` renders a refusal by the thread's rules (``KEPT_REFUSALS``) as the answer the key keeps.
    """

    def __init__(
        self,
        order_id: str,
        caller: Caller,
        decide: Decide[T],
        render: Callable[[WriteOutcome[T]], Answer],
        guard: KeyGuard,
        *,
        refusal: Callable[[DomainError], Answer],
    ) -> None:
        super().__init__(order_id, caller, decide, render)
        self.guard, self.refusal = guard, refusal

    @classmethod
    def prepare(cls, changes: Sequence[Change[Any, Any]]) -> None:
        """Look the keys of the batch up in one query."""
        KeyGuard.look_up_all([c.guard for c in changes if isinstance(c, KeyedChange)])

    def begin(self) -> Answer | None:
        """A stored answer to replay, or None to decide (a KeyRejected if the key is refused)."""
        return self.guard.begin()

    def in_transaction(self, cursor: Any, outcome: WriteOutcome[T]) -> None:
        """Keep the answer with the events."""
        self.in_transaction_all(cursor, [(self, outcome)])

    @classmethod
    def in_transaction_all(cls, cursor: Any, outcomes: Sequence[tuple[Change[Any, Any], WriteOutcome[Any]]]) -> None:
        """Keep the answers of the batch with its events, in one statement."""
        keyed = [(c.guard, c.render(o)) for c, o in outcomes if isinstance(c, KeyedChange)]
        KeyGuard.keep_all_in(cursor, keyed)

    def rolled_back(self) -> None:
        """The kept answer is gone with the events."""
        self.guard.rolled_back()

    def refused(self, error: Exception) -> None:
        """Keep the refusal as the key's answer when it is one a key keeps (``KEPT_REFUSALS``)."""
        if isinstance(error, KEPT_REFUSALS):
            self.guard.finish(self.refusal(error))

    def result(self, outcome: WriteOutcome[T]) -> Answer:
        """The kept answer (or the rendered one, kept now in a commit of its own)."""
        return self.guard.finish(self.guard.kept or self.render(outcome))

    def end(self) -> None:
        """Let a later request with the key in."""
        self.guard.end()
