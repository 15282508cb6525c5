"""The API's commands, each answered with a rendered answer and, under an idempotency key, at most once.

One way down: the entrypoint hands over the request (the caller, its input, how to render the outcome
and a kept refusal, its key); the use case decides the change, the writer (the unit of work) runs it
with the key's ledger entry, and the store keeps the events and the answer in one commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.idempotency import (
    Answer,
    AnsweredChange,
    KeyedChange,
    KeyedRequest,
    KeyLedger,
    message_id_for,
    run_once,
)
from ordertalk_messaging.application.services import (
    ThreadService,
    closing_dispute,
    marking_read,
    marking_unread,
    opening_dispute,
    posting,
)
from ordertalk_messaging.application.writer import Decide, WriteOutcome
from ordertalk_messaging.domain.errors import DomainError
from ordertalk_messaging.domain.thread import PostedMessage

T = TypeVar("T")
Render = Callable[[WriteOutcome[T]], Answer]
Refusal = Callable[[DomainError], Answer]


class KeyedWrites:
    """The commands of the API; ``request`` is the key the client sent (None: no key, the command just runs)."""

    def __init__(self, service: ThreadService, ledger: KeyLedger) -> None:
        self.service, self.ledger = service, ledger

    async def post_message(
        self,
        order_id: str,
        caller: Caller,
        message_id: UUID | None,
        body: str,
        correlation_id: str | None,
        render: Render[PostedMessage],
        refusal: Refusal,
        request: KeyedRequest | None,
    ) -> Answer:
        """Post a message; without a message id a keyed post gets the key's (same key, same id), else a new one."""
        if message_id is None:
            message_id = message_id_for(request.scope, request.key) if request is not None else uuid.uuid4()
        decide = posting(message_id, body, caller, correlation_id)
        return await self._command(order_id, caller, decide, render, refusal, request)

    async def open_dispute(
        self,
        order_id: str,
        caller: Caller,
        reason: str,
        correlation_id: str | None,
        render: Render[int],
        refusal: Refusal,
        request: KeyedRequest | None,
    ) -> Answer:
        """Open a dispute; the outcome's value is its number."""
        decide = opening_dispute(reason, caller, correlation_id)
        return await self._command(order_id, caller, decide, render, refusal, request)

    async def close_dispute(
        self,
        order_id: str,
        caller: Caller,
        correlation_id: str | None,
        render: Render[int],
        refusal: Refusal,
        request: KeyedRequest | None,
    ) -> Answer:
        """Close the open dispute; the outcome's value is its number."""
        decide = closing_dispute(caller, correlation_id)
        return await self._command(order_id, caller, decide, render, refusal, request)

    async def mark(
        self,
        order_id: str,
        caller: Caller,
        correlation_id: str | None,
        render: Render[int],
        refusal: Refusal,
        request: KeyedRequest | None,
        *,
        unread: bool,
    ) -> Answer:
        """Mark the thread read (or the other side's latest message unread); the value is the read position."""
        decide = marking_unread(caller, correlation_id) if unread else marking_read(caller, correlation_id)
        return await self._command(order_id, caller, decide, render, refusal, request)

    def run_once(self, request: KeyedRequest | None, work: Callable[[], Answer]) -> Answer:
        """A write touching several threads (blocking ``work``): executed once per key, its answer kept."""
        return work() if request is None else run_once(self.ledger.guard(request), work)

    async def _command(
        self,
        order_id: str,
        caller: Caller,
        decide: Decide[T],
        render: Render[T],
        refusal: Refusal,
        request: KeyedRequest | None,
    ) -> Answer:
        if request is None:
            change: AnsweredChange[T] = AnsweredChange(order_id, caller, decide, render)
        else:
            change = KeyedChange(order_id, caller, decide, render, self.ledger.guard(request), refusal=refusal)
        return await self.service.apply(change)
