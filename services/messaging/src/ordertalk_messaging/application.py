"""Use cases of the write side: load a thread, let it decide, save, retry on a version conflict."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Notification
from eventsourcing.utils import get_topic

from ordertalk_messaging.domain.errors import ThreadNotFound
from ordertalk_messaging.domain.participant import Participant, ParticipantAsDict
from ordertalk_messaging.domain.thread import OrderThread, PostedMessage, thread_id_for
from ordertalk_messaging.storage.ports import IN_TRANSACTION, InTransaction, ThreadLog

T = TypeVar("T")
STARTED_TOPIC = get_topic(OrderThread.Started)  # type: ignore[attr-defined]


class MessagingStore(Application[UUID]):
    """The eventsourcing application holding every OrderThread."""

    name = "Messaging"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Also store Participants."""
        super().register_transcodings(transcoder)
        transcoder.register(ParticipantAsDict())


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the participant, and for a customer the id whose orders they may touch."""

    participant: Participant
    customer_id: str | None = None

    def may_see(self, thread: OrderThread) -> bool:
        """Staff see every thread; a customer only their own."""
        return self.customer_id is None or thread.belongs_to_customer(self.customer_id)


@dataclass(frozen=True, slots=True)
class WriteOutcome(Generic[T]):
    """A command's result: the thread's version after it and the global position of its last event."""

    order_id: str
    thread_id: UUID
    thread_version: int
    position: int
    value: T


class InSave(Protocol):
    """Work a command does inside its save's transaction (e.g. keep the idempotency answer in the same commit).

    Called only by stores whose recorder supports it (SQLite); with another store ``write`` is never
    called and the caller does the work in its own commit.
    """

    def write(self, cursor: Any, outcome: WriteOutcome[Any]) -> None:
        """Called with the transaction's cursor and the outcome the command will answer, before the commit."""
        ...

    def rolled_back(self) -> None:
        """The save failed after ``write`` may have been called: what it wrote is gone."""
        ...


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order announced by the shop."""

    order_id: str
    order_number: str
    customer_id: str
    customer_name: str
    customer_email: str


class ThreadService:
    """One method per use case; safe to call from many threads at once."""

    def __init__(
        self,
        store: MessagingStore,
        thread_log: ThreadLog,
        on_saved: Callable[[], None] = lambda: None,
        max_attempts: int = 50,
    ) -> None:
        self.store = store
        self.thread_log = thread_log
        self.on_saved = on_saved
        self.max_attempts = max_attempts
        self._stripes = [threading.Lock() for _ in range(64)]

    # --- orders -------------------------------------------------------------------------------

    def register_order(self, order: NewOrder, correlation_id: str | None) -> bool:
        """Start the order's thread; False (nothing stored) if the order is known already."""
        thread_id = thread_id_for(order.order_id)
        with self._lock_for(thread_id):
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

    # --- commands -----------------------------------------------------------------------------

    def post_message(
        self,
        order_id: str,
        caller: Caller,
        message_id: UUID,
        body: str,
        correlation_id: str | None,
        in_save: InSave | None = None,
    ) -> WriteOutcome[PostedMessage]:
        """Post a message (a message id seen before answers the first post)."""
        return self._change(
            order_id, caller, lambda t: t.post_message(message_id, body, caller.participant, correlation_id), in_save
        )

    def open_dispute(
        self, order_id: str, caller: Caller, reason: str, correlation_id: str | None, in_save: InSave | None = None
    ) -> WriteOutcome[int]:
        """Open a dispute; the value is its number."""
        return self._change(
            order_id, caller, lambda t: t.open_dispute_with(reason, caller.participant, correlation_id), in_save
        )

    def close_dispute(
        self, order_id: str, caller: Caller, correlation_id: str | None, in_save: InSave | None = None
    ) -> WriteOutcome[int]:
        """Close the open dispute; the value is its number."""
        return self._change(order_id, caller, lambda t: t.close_dispute(caller.participant, correlation_id), in_save)

    def mark_read(
        self, order_id: str, caller: Caller, correlation_id: str | None, in_save: InSave | None = None
    ) -> WriteOutcome[int]:
        """Mark the thread read for the caller's party; the value is the new read position."""
        return self._change(order_id, caller, lambda t: t.mark_read(caller.participant, correlation_id), in_save)

    def mark_unread(
        self, order_id: str, caller: Caller, correlation_id: str | None, in_save: InSave | None = None
    ) -> WriteOutcome[int]:
        """Mark the other side's latest message unread for the caller's party."""
        return self._change(order_id, caller, lambda t: t.mark_unread(caller.participant, correlation_id), in_save)

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

    def _lock_for(self, thread_id: UUID) -> threading.Lock:
        return self._stripes[thread_id.int % len(self._stripes)]

    def _evict(self, thread_id: UUID) -> None:
        """Drop a cached thread whose unsaved changes must not be seen again."""
        cache = self.store.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                cache.get(thread_id, evict=True)

    def _load(self, thread_id: UUID, order_id: str, caller: Caller) -> OrderThread:
        try:
            thread: object = self.store.repository.get(thread_id)
        except AggregateNotFoundError:
            raise ThreadNotFound(f"no order {order_id!r}") from None
        if not isinstance(thread, OrderThread) or not caller.may_see(thread):
            raise ThreadNotFound(f"no order {order_id!r}")
        return thread

    def _change(
        self, order_id: str, caller: Caller, decide: Callable[[OrderThread], T], in_save: InSave | None = None
    ) -> WriteOutcome[T]:
        thread_id = thread_id_for(order_id)
        for attempt in range(self.max_attempts):
            with self._lock_for(thread_id):
                thread = self._load(thread_id, order_id, caller)
                value = decide(thread)
                if not thread.pending_events:
                    return WriteOutcome(order_id, thread_id, thread.version, self.last_position(), value)
                extra = {} if in_save is None else {IN_TRANSACTION: _in_transaction(in_save, thread, value)}
                try:
                    recordings = self.store.save(thread, **extra)
                except IntegrityError:
                    self._evict(thread_id)  # another process wrote first: reload and decide again
                    if in_save is not None:
                        in_save.rolled_back()
                except BaseException:
                    self._evict(thread_id)
                    if in_save is not None:
                        in_save.rolled_back()
                    raise
                else:
                    self.on_saved()
                    position = recordings[-1].notification.id if recordings else self.last_position()
                    return WriteOutcome(order_id, thread_id, thread.version, position, value)
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # back off outside the lock
        raise ConcurrencyExhausted(f"order {order_id!r}: too many concurrent writers, try again")


def _in_transaction(in_save: InSave, thread: OrderThread, value: Any) -> InTransaction:
    """The recorder's in-transaction callback: the command's outcome, with the new events' last position."""
    order_id, thread_id, version = thread.order_id, thread.id, thread.version

    def write(cursor: Any, ids: Sequence[int]) -> None:
        in_save.write(cursor, WriteOutcome(order_id, thread_id, version, ids[-1], value))

    return write


class ConcurrencyExhausted(Exception):
    """Every attempt lost the race to another writer."""
