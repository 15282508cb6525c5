"""OrderThread: the event-sourced conversation of one order, with its rules checked before each event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.domain import Snapshot as LibrarySnapshot
from eventsourcing.utils import get_topic, resolve_topic

from ordertalk_messaging.domain.errors import DisputeConflict
from ordertalk_messaging.domain.message_ids import MessageIds
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.domain.text import clean_body, clean_reason

THREAD_NAMESPACE = UUID("5b7c1f0e-3d2a-5e49-9a61-0c8f4e2b7d13")
_STARTED = ("order_id", "order_number", "customer_id", "customer_name", "customer_email")
_COUNTERS = ("message_count", "last_posted", "read_positions", "seen_versions", "dispute_count")


def thread_id_for(order_id: str) -> UUID:
    """The id of an order's thread (the same order always gives the same id)."""
    return uuid5(THREAD_NAMESPACE, f"order:{order_id}")


@dataclass(frozen=True, slots=True)
class OpenDispute:
    """The dispute in progress."""

    dispute_no: int
    opened_at: datetime
    opened_by: Participant
    opened_version: int = 0


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """Where a message landed: its seq and the thread version that recorded it."""

    message_id: UUID
    seq: int
    version: int
    duplicate: bool = False


class OrderThread(Aggregate):
    """One order's thread: messages, read positions per party, disputes.

    It holds what its rules need, not its messages: their count, each party's latest seq, the read
    positions, the disputes and every message id (a repeated id posts nothing). ``Snapshot`` stores
    that state every SNAPSHOT_INTERVAL events; ``snapshot_version`` is the version of the latest
    snapshot this thread was loaded from or saved with (0: none), not part of its state.
    """

    class_version: ClassVar[int] = 1  # of the snapshot state; see Snapshot

    @staticmethod
    def create_id(order_id: str) -> UUID:
        """The thread id derives from the order id."""
        return thread_id_for(order_id)

    @event("Started")
    def __init__(
        self,
        order_id: str,
        order_number: str,
        customer_id: str,
        customer_name: str,
        customer_email: str,
        correlation_id: str | None,
    ) -> None:
        self.order_id = order_id
        self.order_number = order_number
        self.customer_id = customer_id
        self.customer_name = customer_name
        self.customer_email = customer_email
        self.message_count = 0
        self.last_posted: dict[str, int] = {}  # per party, the seq of its latest message
        self.message_ids = MessageIds()
        self.read_positions: dict[str, int] = {}
        self.seen_versions: dict[str, int] = {}  # per party, the version of its last read or message
        self.dispute_count = 0
        self.open_dispute: OpenDispute | None = None
        self.snapshot_version = 0

    # --- snapshots -----------------------------------------------------------------------------

    class Snapshot(LibrarySnapshot):
        """A thread's state at a version, as plain JSON values (its message ids packed in base64 strings).

        ``state`` carries ``class_version`` when OrderThread's is above 1. When the state changes shape,
        raise ``OrderThread.class_version`` and add ``upcast_v<n>_v<n+1>(state)`` static methods: a
        snapshot of an older shape is upcast when loaded, as the library does for events. Snapshots are
        derived data: deleting them (the snapshots table) only makes the next loads replay every event.
        """

        @classmethod
        def take(cls, aggregate: Any) -> OrderThread.Snapshot:
            """The snapshot of ``aggregate`` (an OrderThread) at its current version."""
            assert isinstance(aggregate, OrderThread)
            state = aggregate.snapshot_state()
            if OrderThread.class_version > 1:
                state["class_version"] = OrderThread.class_version
            return cls(
                originator_id=aggregate.id,
                originator_version=aggregate.version,
                timestamp=cls.create_timestamp(),
                topic=get_topic(type(aggregate)),
                state=state,
            )

        def mutate(self, _: Any) -> OrderThread:
            """The thread this snapshot holds (upcast to the current shape first)."""
            cls = resolve_topic(self.topic)
            assert issubclass(cls, OrderThread)
            state = dict(self.state)
            version = state.pop("class_version", 1)
            while version < cls.class_version:
                getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
                version += 1
            thread: OrderThread = cls.from_snapshot_state(self.originator_id, self.originator_version, state)
            return thread

    def snapshot_state(self) -> dict[str, Any]:
        """This thread's state as plain JSON values (datetimes and Participants are transcoded)."""
        current = self.open_dispute
        dispute = None
        if current is not None:
            dispute = {
                "dispute_no": current.dispute_no,
                "opened_at": current.opened_at,
                "opened_by": current.opened_by,
                "opened_version": current.opened_version,
            }
        return {
            **{name: getattr(self, name) for name in (*_STARTED, *_COUNTERS)},
            "created_on": self.created_on,
            "modified_on": self.modified_on,
            "open_dispute": dispute,
            "message_ids": self.message_ids.state(),
        }

    @classmethod
    def from_snapshot_state(cls, thread_id: UUID, version: int, state: dict[str, Any]) -> OrderThread:
        """The thread ``state`` (a ``snapshot_state``) describes at ``version``."""
        thread = object.__new__(cls)
        dispute = state["open_dispute"]
        vars(thread).update(
            _id=thread_id,
            _version=version,
            _created_on=state["created_on"],
            _modified_on=state["modified_on"],
            _pending_events=[],
            **{name: state[name] for name in _STARTED},
            message_count=int(state["message_count"]),
            last_posted=dict(state["last_posted"]),
            message_ids=MessageIds.from_state(state["message_ids"]),
            read_positions=dict(state["read_positions"]),
            seen_versions=dict(state["seen_versions"]),
            dispute_count=int(state["dispute_count"]),
            open_dispute=None if dispute is None else OpenDispute(**dispute),
            snapshot_version=version,
        )
        return thread

    # --- undo -----------------------------------------------------------------------------------

    def memento(self) -> dict[str, Any]:
        """This thread's state, to ``restore`` if changes decided after it are not saved.

        Message ids are only ever added, so they are remembered by their count and ``restore`` drops
        what came after: a long thread costs no copy. Every other attribute is immutable or a small
        list or dict of immutable values, copied: far cheaper than replaying the thread's events.
        """
        return {
            k: len(v) if isinstance(v, MessageIds) else v.copy() if isinstance(v, list | dict) else v
            for k, v in vars(self).items()
        }

    def restore(self, memento: dict[str, Any]) -> None:
        """Go back to the state of ``memento`` (unsaved events and their effects are dropped)."""
        ids = self.message_ids
        ids.truncate(memento["message_ids"])
        state = vars(self)
        state.clear()
        state.update({k: v.copy() if isinstance(v, list | dict) else v for k, v in memento.items()})
        state.update(message_ids=ids)

    # --- queries -------------------------------------------------------------------------------

    def read_position(self, party: str) -> int:
        """The seq of the last message ``party`` has read (0: none)."""
        return self.read_positions.get(party, 0)

    def unseen_dispute_for(self, party: str) -> bool:
        """Whether the open dispute was opened by someone else after ``party`` last read (as the read side says)."""
        current = self.open_dispute
        return (
            current is not None
            and current.opened_by.party != party
            and current.opened_version > self.seen_versions.get(party, 0)
        )

    def belongs_to_customer(self, customer_id: str) -> bool:
        """Whether the order is this customer's."""
        return self.customer_id == customer_id

    # --- commands ------------------------------------------------------------------------------

    def post_message(
        self, message_id: UUID, body: str, author: Participant, correlation_id: str | None
    ) -> PostedMessage:
        """Add a message; a message id already posted changes nothing and answers the first post."""
        known = self.message_ids.get(message_id)
        if known is not None:
            return PostedMessage(message_id, seq=known[0], version=known[1], duplicate=True)
        text = clean_body(body)
        self._message_posted(
            order_id=self.order_id,
            message_id=message_id,
            seq=self.message_count + 1,
            body=text,
            author=author,
            correlation_id=correlation_id,
        )
        return PostedMessage(message_id, seq=self.message_count, version=self.version)

    def open_dispute_with(self, reason: str, actor: Participant, correlation_id: str | None) -> int:
        """Open a dispute (409 while one is open); answers its number."""
        if self.open_dispute is not None:
            raise DisputeConflict(
                f"dispute #{self.open_dispute.dispute_no} on order {self.order_number} is already open; close it first"
            )
        text = clean_reason(reason)
        self.trigger_event(
            self.DisputeOpened,
            order_id=self.order_id,
            dispute_no=self.dispute_count + 1,
            reason=text,
            actor=actor,
            correlation_id=correlation_id,
        )
        return self.dispute_count

    def close_dispute(self, actor: Participant, correlation_id: str | None) -> int:
        """Close the open dispute (409 if none is open); answers its number."""
        current = self.open_dispute
        if current is None:
            raise DisputeConflict(f"order {self.order_number} has no open dispute to close")
        self._dispute_closed(
            order_id=self.order_id,
            dispute_no=current.dispute_no,
            opened_at=current.opened_at,
            actor=actor,
            correlation_id=correlation_id,
        )
        return current.dispute_no

    def mark_read(self, actor: Participant, correlation_id: str | None) -> int:
        """Move the actor's party to the last message; no event if it is there already and has seen the dispute.

        A read with no message to move over still records that the party has seen an open dispute: the
        ThreadRead's thread version is then after the DisputeOpened's.
        """
        party = actor.party
        if self.read_position(party) >= self.message_count and not self.unseen_dispute_for(party):
            return self.read_position(party)
        self._read(
            order_id=self.order_id,
            party=party,
            read_up_to=self.message_count,
            actor=actor,
            correlation_id=correlation_id,
        )
        return self.read_position(party)

    def mark_unread(self, actor: Participant, correlation_id: str | None) -> int:
        """Move the party's position back so the other side's latest message is unread again."""
        party = actor.party
        latest_other = max((seq for p, seq in self.last_posted.items() if p != party), default=None)
        if latest_other is None or self.read_position(party) < latest_other:
            return self.read_position(party)
        self._marked_unread(
            order_id=self.order_id,
            party=party,
            read_up_to=latest_other - 1,
            actor=actor,
            correlation_id=correlation_id,
        )
        return self.read_position(party)

    # --- events (state changes only; rules are checked above) ----------------------------------

    @event("MessagePosted")
    def _message_posted(
        self,
        order_id: str,
        message_id: UUID,
        seq: int,
        body: str,
        author: Participant,
        correlation_id: str | None,
    ) -> None:
        self.message_count = seq
        self.last_posted[author.party] = seq
        self.message_ids.add(message_id, seq, self.version + 1)
        # Writing a message means having read the thread up to it.
        self.read_positions[author.party] = seq
        self.seen_versions[author.party] = self.version + 1

    class DisputeOpened(Aggregate.Event):
        """A dispute was opened (an explicit class: its apply needs the event's own timestamp)."""

        order_id: str
        dispute_no: int
        reason: str
        actor: Participant
        correlation_id: str | None

        def apply(self, aggregate: Aggregate) -> None:
            """Record the open dispute, opened at this event's time."""
            assert isinstance(aggregate, OrderThread)
            aggregate.dispute_count = self.dispute_no
            aggregate.open_dispute = OpenDispute(
                self.dispute_no, opened_at=self.timestamp, opened_by=self.actor, opened_version=self.originator_version
            )

    @event("DisputeClosed")
    def _dispute_closed(
        self, order_id: str, dispute_no: int, opened_at: datetime, actor: Participant, correlation_id: str | None
    ) -> None:
        self.open_dispute = None

    @event("ThreadRead")
    def _read(self, order_id: str, party: str, read_up_to: int, actor: Participant, correlation_id: str | None) -> None:
        self.read_positions[party] = read_up_to
        self.seen_versions[party] = self.version + 1

    @event("ThreadMarkedUnread")
    def _marked_unread(
        self, order_id: str, party: str, read_up_to: int, actor: Participant, correlation_id: str | None
    ) -> None:
        self.read_positions[party] = read_up_to
