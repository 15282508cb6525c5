"""ThreadState and ``apply_event``: (state, event) -> new state, version-guarded, no I/O.

The one definition of the counts every screen shows (product.md, "Counts"): for a party X,
*unread messages* are messages by others after X's read position; an *unseen dispute* is the
open dispute, opened by someone else after the thread version X last read (a ThreadRead or a
message of X's); a thread has *news* for X when it has either.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ordertalk_contracts import (
    Actor,
    Customer,
    DisputeClosedV1,
    DisputeOpenedV1,
    MessagePostedV1,
    ThreadEvent,
    ThreadMarkedUnreadV1,
    ThreadReadV1,
    ThreadStartedV1,
)

EXCERPT_CHARS = 160


class GapDetected(Exception):
    """An event arrived whose predecessor has not been applied; the caller must heal the gap."""

    def __init__(self, have: int, got: int) -> None:
        super().__init__(f"thread at version {have} cannot apply version {got}")
        self.have, self.got = have, got


class LastMessage(BaseModel):
    """The latest message of a thread, as shown in the inbox."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    seq: int
    excerpt: str
    author: Actor
    posted_at: datetime


class DisputeRecord(BaseModel):
    """One dispute of the thread; ``closed_at`` is None while it is open."""

    model_config = ConfigDict(frozen=True)

    dispute_no: int
    reason: str
    opened_by: Actor
    opened_at: datetime
    opened_version: int = Field(default=0, description="The thread version of its DisputeOpened event.")
    closed_by: Actor | None = None
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Whether the dispute is still open."""
        return self.closed_at is None


class ThreadState(BaseModel):
    """Everything a read side needs to know about one order's thread."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    thread_id: str
    version: int = 0
    position: int = 0
    order_number: str = ""
    customer: Customer | None = None
    message_parties: list[str] = Field(default_factory=list, description="Author party of message seq i+1.")
    last_message: LastMessage | None = None
    read_positions: dict[str, int] = Field(default_factory=dict)
    seen_versions: dict[str, int] = Field(
        default_factory=dict, description="Per party, the thread version of its last read or message."
    )
    disputes: list[DisputeRecord] = Field(default_factory=list)
    last_activity_at: datetime | None = None

    @property
    def message_count(self) -> int:
        """How many messages the thread has."""
        return len(self.message_parties)

    @property
    def open_dispute(self) -> DisputeRecord | None:
        """The open dispute, if any."""
        return self.disputes[-1] if self.disputes and self.disputes[-1].is_open else None

    def unread_for(self, party: str) -> int:
        """Messages written by others after ``party``'s read position."""
        start = self.read_positions.get(party, 0)
        return sum(1 for author in self.message_parties[start:] if author != party)

    def unseen_dispute_for(self, party: str) -> bool:
        """Whether the open dispute was opened by someone else after ``party`` last read the thread."""
        dispute = self.open_dispute
        return (
            dispute is not None
            and dispute.opened_by.party != party
            and dispute.opened_version > self.seen_versions.get(party, 0)
        )

    def has_news_for(self, party: str) -> bool:
        """Whether the thread needs ``party``'s attention: unread messages or an unseen dispute."""
        return self.unseen_dispute_for(party) or self.unread_for(party) > 0

    def attention_for(self, party: str) -> Attention:
        """What is new in this thread for ``party``."""
        return Attention(unread_messages=self.unread_for(party), unseen_dispute=self.unseen_dispute_for(party))


class Attention(NamedTuple):
    """What one thread holds that ``party`` has not seen: the figures every count is built from."""

    unread_messages: int
    unseen_dispute: bool

    @property
    def has_news(self) -> bool:
        """A thread with news: unread messages or an unseen dispute."""
        return self.unread_messages > 0 or self.unseen_dispute


def excerpt(body: str, limit: int = EXCERPT_CHARS) -> str:
    """A one-line excerpt of a message body."""
    line = " ".join(body.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _replace_last_dispute(disputes: list[DisputeRecord], record: DisputeRecord) -> list[DisputeRecord]:
    return [*disputes[:-1], record] if disputes else [record]


def apply_event(state: ThreadState | None, event: ThreadEvent) -> ThreadState:
    """Apply ``event`` to ``state``.

    An event at or below the state's version is a redelivery and returns the state unchanged;
    an event that skips a version raises GapDetected.
    """
    if state is None:
        state = ThreadState(order_id=event.order_id, thread_id=str(event.thread_id))
    if event.thread_version <= state.version:
        return state
    if event.thread_version != state.version + 1:
        raise GapDetected(state.version, event.thread_version)
    changes: dict[str, object] = {"version": event.thread_version, "position": event.position}
    if isinstance(event, ThreadStartedV1):
        changes |= {"order_number": event.order_number, "customer": event.customer}
    elif isinstance(event, MessagePostedV1):
        party = event.actor.party
        changes |= {
            "message_parties": [*state.message_parties, party],
            "last_message": LastMessage(
                message_id=str(event.message_id),
                seq=event.seq,
                excerpt=excerpt(event.body),
                author=event.actor,
                posted_at=event.occurred_at,
            ),
            # Writing a message means having read the thread up to it.
            "read_positions": state.read_positions | {party: event.seq},
            "seen_versions": state.seen_versions | {party: event.thread_version},
            "last_activity_at": event.occurred_at,
        }
    elif isinstance(event, DisputeOpenedV1):
        record = DisputeRecord(
            dispute_no=event.dispute_no,
            reason=event.reason,
            opened_by=event.actor,
            opened_at=event.occurred_at,
            opened_version=event.thread_version,
        )
        changes |= {"disputes": [*state.disputes, record], "last_activity_at": event.occurred_at}
    elif isinstance(event, DisputeClosedV1):
        if state.disputes:
            closed = state.disputes[-1].model_copy(update={"closed_by": event.actor, "closed_at": event.occurred_at})
            changes |= {"disputes": _replace_last_dispute(state.disputes, closed)}
        changes |= {"last_activity_at": event.occurred_at}
    elif isinstance(event, ThreadReadV1):
        changes |= {
            "read_positions": state.read_positions | {event.party: event.read_up_to},
            "seen_versions": state.seen_versions | {event.party: event.thread_version},
        }
    elif isinstance(event, ThreadMarkedUnreadV1):
        # Marking as unread moves the message position back; a dispute once seen stays seen.
        changes |= {"read_positions": state.read_positions | {event.party: event.read_up_to}}
    return state.model_copy(update=changes)
