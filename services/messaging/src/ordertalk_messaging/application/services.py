"""Use cases of the write side: commands go to the single writer; queries read the store."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.utils import get_topic

from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.ports import ThreadLog
from ordertalk_messaging.application.store import MessagingStore
from ordertalk_messaging.application.writer import Change, Command, Decide, WriteOutcome, Writer
from ordertalk_messaging.domain.errors import ThreadNotFound
from ordertalk_messaging.domain.thread import OrderThread, PostedMessage, thread_id_for

R = TypeVar("R")
STARTED_TOPIC = get_topic(OrderThread.Started)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order announced by the shop."""

    order_id: str
    order_number: str
    customer_id: str
    customer_name: str
    customer_email: str


def posting(message_id: UUID, body: str, caller: Caller, correlation_id: str | None) -> Decide[PostedMessage]:
    """Post a message (a message id seen before answers the first post)."""
    return lambda t: t.post_message(message_id, body, caller.participant, correlation_id)


def opening_dispute(reason: str, caller: Caller, correlation_id: str | None) -> Decide[int]:
    """Open a dispute; the value is its number."""
    return lambda t: t.open_dispute_with(reason, caller.participant, correlation_id)


def closing_dispute(caller: Caller, correlation_id: str | None) -> Decide[int]:
    """Close the open dispute; the value is its number."""
    return lambda t: t.close_dispute(caller.participant, correlation_id)


def marking_read(caller: Caller, correlation_id: str | None) -> Decide[int]:
    """Mark the thread read for the caller's party; the value is the new read position."""
    return lambda t: t.mark_read(caller.participant, correlation_id)


def marking_unread(caller: Caller, correlation_id: str | None) -> Decide[int]:
    """Mark the other side's latest message unread for the caller's party; the value is the read position."""
    return lambda t: t.mark_unread(caller.participant, correlation_id)


class ThreadService:
    """One method per use case; safe to call from many threads at once.

    Commands are decided and saved by one ``Writer`` (group commit, in its own thread when
    ``threaded``; otherwise in the calling thread, one command per commit).
    """

    def __init__(
        self,
        store: MessagingStore,
        thread_log: ThreadLog,
        on_saved: Callable[[], None] = lambda: None,
        *,
        threaded: bool = True,
        max_batch: int = 256,
        max_queue: int = 5000,
    ) -> None:
        self.store = store
        self.thread_log = thread_log
        self.on_saved = on_saved
        self.writer = Writer(
            store,
            self.last_position,
            on_saved,
            stored_versions=thread_log.versions_of,
            threaded=threaded,
            max_batch=max_batch,
            max_queue=max_queue,
        )
        self._registering = threading.Lock()

    def close(self) -> None:
        """Answer the queued commands and stop the writer."""
        self.writer.close()

    # --- orders -------------------------------------------------------------------------------

    def register_order(self, order: NewOrder, correlation_id: str | None) -> bool:
        """Start the order's thread; False (nothing stored) if the order is known already."""
        thread_id = thread_id_for(order.order_id)
        with self._registering:
            if thread_id in self.store.repository:
                return False
            thread = OrderThread(
                order_id=order.order_id,
                order_number=order.order_number,
                customer_id=order.customer_id,
                customer_name=order.customer_name,
                customer_email=order.customer_email,
                correlation_id=correlation_id,
            )
            try:
                self.store.save(thread)
            except IntegrityError:
                return False
        self.on_saved()
        return True

    # --- commands (blocking; async callers submit Changes with ``apply``) -----------------------

    async def apply(self, change: Change[Any, R]) -> R:
        """Run a change through the writer and await its answer."""
        return await self.writer.run(change)

    def post_message(
        self, order_id: str, caller: Caller, message_id: UUID, body: str, correlation_id: str | None
    ) -> WriteOutcome[PostedMessage]:
        """Post a message (a message id seen before answers the first post)."""
        return self.writer.call(Command(order_id, caller, posting(message_id, body, caller, correlation_id)))

    def open_dispute(self, order_id: str, caller: Caller, reason: str, correlation_id: str | None) -> WriteOutcome[int]:
        """Open a dispute; the value is its number."""
        return self.writer.call(Command(order_id, caller, opening_dispute(reason, caller, correlation_id)))

    def close_dispute(self, order_id: str, caller: Caller, correlation_id: str | None) -> WriteOutcome[int]:
        """Close the open dispute; the value is its number."""
        return self.writer.call(Command(order_id, caller, closing_dispute(caller, correlation_id)))

    def mark_read(self, order_id: str, caller: Caller, correlation_id: str | None) -> WriteOutcome[int]:
        """Mark the thread read for the caller's party; the value is the new read position."""
        return self.writer.call(Command(order_id, caller, marking_read(caller, correlation_id)))

    def mark_unread(self, order_id: str, caller: Caller, correlation_id: str | None) -> WriteOutcome[int]:
        """Mark the other side's latest message unread for the caller's party."""
        return self.writer.call(Command(order_id, caller, marking_unread(caller, correlation_id)))

    def mark_all(
        self, order_ids: Sequence[str], caller: Caller, correlation_id: str | None, *, unread: bool
    ) -> list[WriteOutcome[int]]:
        """Mark each thread read (or unread) for the caller's party; the commands share commits."""
        decide = marking_unread(caller, correlation_id) if unread else marking_read(caller, correlation_id)
        return self.writer.call_all([Command(order_id, caller, decide) for order_id in order_ids])

    # --- queries ------------------------------------------------------------------------------

    def check_visible(self, order_ids: Sequence[str], caller: Caller) -> None:
        """ThreadNotFound unless every order has a thread the caller may see."""
        for order_id in order_ids:
            self._load(thread_id_for(order_id), order_id, caller)

    def visible_order_ids(self, caller: Caller) -> list[str]:
        """Every order whose thread the caller may see, oldest thread first."""
        found: list[str] = []
        start = 0
        while True:
            batch = self.store.recorder.select_notifications(
                start, 1000, topics=[STARTED_TOPIC], inclusive_of_start=False
            )
            for notification in batch:
                started: Any = self.store.mapper.to_domain_event(notification)
                if caller.customer_id is None or started.customer_id == caller.customer_id:
                    found.append(str(started.order_id))
            if len(batch) < 1000:
                return found
            start = batch[-1].id

    def history(self, order_id: str, caller: Caller) -> Sequence[Notification]:
        """The thread's stored events, oldest first."""
        thread_id = thread_id_for(order_id)
        self._load(thread_id, order_id, caller)
        return self.thread_log.notifications_of(thread_id)

    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        """Stored events after global position ``after``, in store order."""
        return self.store.recorder.select_notifications(after, limit, inclusive_of_start=False)

    def last_position(self) -> int:
        """The global position of the latest stored event (0 when empty)."""
        return self.store.recorder.max_notification_id() or 0

    # --- internals ----------------------------------------------------------------------------

    def _load(self, thread_id: UUID, order_id: str, caller: Caller) -> OrderThread:
        """The thread, for a query: only who owns it is read, which no command changes."""
        try:
            thread: object = self.store.repository.get(thread_id)
        except AggregateNotFoundError:
            raise ThreadNotFound(f"no order {order_id!r}") from None
        if not isinstance(thread, OrderThread) or not caller.may_see(thread):
            raise ThreadNotFound(f"no order {order_id!r}")
        return thread
