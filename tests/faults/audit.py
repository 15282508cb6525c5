"""Pure checks of a quiet system: acknowledged writes, the fold of the store against every read model, e-mails.

Every function answers a list of problems (empty when all is well), each one line saying what is wrong
where, so a failing scenario reports precisely which read model, thread and figure disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ordertalk_threadstate import BellCounts, ThreadState, apply_event, bell_counts

from ordertalk_contracts import (
    DisputeClosedV1,
    DisputeOpenedV1,
    MessagePostedV1,
    ThreadEvent,
    ThreadMarkedUnreadV1,
    ThreadReadV1,
)
from ordertalk_notifier.policy import Links, notifications_for
from ordertalk_projections.domain.conversation import has_conversation

ADMIN = "admin"
CUSTOMER = "customer"
MailKey = tuple[str, str]  # (event id, recipient address in lower case)
EVENT_TYPES = {
    "post": MessagePostedV1,
    "open": DisputeOpenedV1,
    "close": DisputeClosedV1,
    "read": ThreadReadV1,
    "unread": ThreadMarkedUnreadV1,
}


@dataclass(frozen=True)
class Ack:
    """A write the messaging API acknowledged (2xx), with where it said the write left the thread."""

    op: str  # post, open, close, read, unread
    order_id: str
    key: str
    thread_version: int
    position: int
    message_id: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class Folded:
    """The whole store folded: each thread's state, and the e-mails the notifier's policy asks for."""

    states: dict[str, ThreadState]
    expected_mails: frozenset[MailKey]
    events: tuple[ThreadEvent, ...]


def fold_store(events: Sequence[ThreadEvent], links: Links) -> Folded:
    """Fold the store's events (in store order) with ``apply_event``; the policy's e-mails from each new state."""
    states: dict[str, ThreadState] = {}
    mails: set[MailKey] = set()
    for event in events:
        state = apply_event(states.get(event.order_id), event)
        states[event.order_id] = state
        mails.update((n.event_id, n.recipient.email.lower()) for n in notifications_for(event, state, links))
    return Folded(states, frozenset(mails), tuple(events))


def check_acks(acks: Iterable[Ack], events: Sequence[ThreadEvent]) -> list[str]:
    """Every acknowledged write is in the store where its answer said, and no message body is stored twice."""
    problems: list[str] = []
    by_place = {(e.order_id, e.thread_version): e for e in events}
    bodies = Counter(e.body for e in events if isinstance(e, MessagePostedV1))
    problems += [f"message body stored {n} times: {body!r}" for body, n in bodies.items() if n > 1]
    for ack in acks:
        event = by_place.get((ack.order_id, ack.thread_version))
        # A read or unread that moved nothing stores no event: it answers the thread's version and the store's
        # head, so its version's event may be older than the answer's position.
        changed = ack.op in ("post", "open", "close")
        if event is None or event.position > ack.position or (changed and event.position != ack.position):
            problems.append(
                f"acknowledged {ack.op} (key {ack.key}) not in the store at {ack.order_id} v{ack.thread_version}"
            )
            continue
        if ack.op == "post":
            if not isinstance(event, MessagePostedV1) or str(event.message_id) != ack.message_id:
                problems.append(f"acknowledged post (key {ack.key}) is a {event.event_type} in the store")
        elif ack.op in ("open", "close") and not isinstance(event, EVENT_TYPES[ack.op]):
            problems.append(f"acknowledged {ack.op} (key {ack.key}) is a {event.event_type} in the store")
    return problems


def _dispute_no(record: Mapping[str, Any] | None) -> int | None:
    return None if record is None else int(record["dispute_no"])


def row_problems(where: str, row: Mapping[str, Any], state: ThreadState, party: str) -> list[str]:
    """How a thread row (``GET /v1/threads`` item, as ``party`` sees it) differs from the fold's state."""
    dispute = state.open_dispute
    last = state.last_message
    want: dict[str, Any] = {
        "version": state.version,
        "position": state.position,
        "message_count": state.message_count,
        "unread_for_admin": state.unread_for(ADMIN),
        "unread_for_customer": state.unread_for(CUSTOMER),
        "unread": state.unread_for(party),
        "unseen_dispute": state.unseen_dispute_for(party),
        "has_news": state.has_news_for(party),
        "read_positions": dict(state.read_positions),
        "dispute": None if dispute is None else dispute.dispute_no,
        "last_message": None if last is None else last.message_id,
    }
    got: dict[str, Any] = {
        **{name: row.get(name) for name in want},
        "dispute": _dispute_no(row.get("dispute")),
        "last_message": None if row.get("last_message") is None else row["last_message"]["message_id"],
    }
    return [
        f"{where} {state.order_id}: {name} is {got[name]!r}, the store says {want[name]!r}"
        for name in want
        if got[name] != want[name]
    ]


def detail_problems(
    where: str, detail: Mapping[str, Any], state: ThreadState, events: Sequence[ThreadEvent]
) -> list[str]:
    """How a thread view (``GET /v1/threads/{order_id}`` as the admin) differs from the fold and the stored messages."""
    problems = row_problems(where, detail, state, ADMIN)
    stored = [
        (str(e.message_id), e.seq, e.body)
        for e in events
        if isinstance(e, MessagePostedV1) and e.order_id == state.order_id
    ]
    shown = [(m["message_id"], m["seq"], m["body"]) for m in detail.get("messages", [])]
    if shown != stored:
        problems.append(f"{where} {state.order_id}: {len(shown)} messages shown, {len(stored)} stored (or other ones)")
    disputes = [(d["dispute_no"], d.get("closed_at") is None) for d in detail.get("disputes", [])]
    if disputes != [(d.dispute_no, d.is_open) for d in state.disputes]:
        problems.append(f"{where} {state.order_id}: disputes {disputes}, the store says {len(state.disputes)} others")
    return problems


def list_problems(
    where: str, rows: Sequence[Mapping[str, Any]], states: Mapping[str, ThreadState], party: str
) -> list[str]:
    """How a whole thread list (every page) differs from the fold over the threads ``party`` may see.

    The list holds conversations only (a message or a dispute): a thread just started is not in it.
    """
    listed = {str(row["order_id"]): row for row in rows}
    states = {oid: state for oid, state in states.items() if has_conversation(state)}
    problems = [f"{where}: thread {oid} missing from the list" for oid in sorted(set(states) - set(listed))]
    problems += [f"{where}: thread {oid} listed, not in the store" for oid in sorted(set(listed) - set(states))]
    for oid in sorted(set(states) & set(listed)):
        problems += row_problems(where, listed[oid], states[oid], party)
    return problems


def expected_bell(states: Iterable[ThreadState], party: str) -> BellCounts:
    """The bell of ``party`` over these threads, from the fold."""
    return bell_counts(state.attention_for(party) for state in states)


def bell_problems(where: str, got: Mapping[str, Any], want: BellCounts) -> list[str]:
    """How a bell answer differs from the fold's."""
    expected = want.model_dump()
    return [f"{where}: {k} is {got.get(k)!r}, the store says {v!r}" for k, v in expected.items() if got.get(k) != v]


def mail_problems(
    expected: frozenset[MailKey], received: Mapping[MailKey, Sequence[str]], resends_allowed: int = 0
) -> list[str]:
    """E-mails per (event, recipient), each received as the Message-IDs of its copies: every expected one received
    once, nothing else. A notifier killed between the server's acceptance and the mark resends what it had not
    marked, as the same e-mail (the same Message-ID): up to ``resends_allowed`` such copies are its bound."""
    lost = sorted(expected - set(received))
    doubled = sorted(key for key, ids in received.items() if len(ids) > 1)
    unexpected = sorted(set(received) - expected)
    problems = []
    if lost:
        problems.append(f"{len(lost)} e-mails lost of {len(expected)}, e.g. {lost[:3]}")
    distinct = [key for key in doubled if len(set(received[key])) > 1]
    if distinct:
        problems.append(f"{len(distinct)} e-mails sent as different messages (Message-IDs), e.g. {distinct[:3]}")
    extra = sum(len(received[key]) - 1 for key in doubled)
    if doubled and extra > resends_allowed:
        problems.append(
            f"{len(doubled)} e-mails received more than once ({extra} extra, {resends_allowed} allowed),"
            f" e.g. {doubled[:3]}"
        )
    if unexpected:
        problems.append(f"{len(unexpected)} e-mails nobody should have had, e.g. {unexpected[:3]}")
    return problems


def resent(received: Mapping[MailKey, Sequence[str]]) -> int:
    """Copies received beyond the first of each e-mail."""
    return sum(len(ids) - 1 for ids in received.values())
