"""Pure mapping between projections and MongoDB documents, and from documents to API rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ordertalk_threadstate import LastMessage, ThreadState

from ordertalk_contracts import MessagePostedV1, OrderRegisteredV1
from ordertalk_projections.domain.conversation import has_conversation, news_fields
from ordertalk_projections.domain.fields import ADMIN, CUSTOMER, PARTIES, news_field, unread_field, unseen_dispute_field
from ordertalk_projections.domain.projector import ThreadProjection

Document = dict[str, Any]


def _ts(moment: datetime | None) -> float:
    return moment.timestamp() if moment else 0.0


def thread_document(projection: ThreadProjection) -> Document:
    """The threads document of a projection (without ``_id``): the state plus fields to query on."""
    state = projection.state
    activity = state.last_activity_at or projection.started_at
    return {
        "version": state.version,
        "position": state.position,
        "state": state.model_dump(mode="json"),
        "keywords": sorted(projection.keywords),
        "started_at": projection.started_at.isoformat() if projection.started_at else None,
        "latest_by_party": {p: m.model_dump(mode="json") for p, m in sorted(projection.latest_by_party.items())},
        "has_conversation": has_conversation(state),
        "order_number": state.order_number,
        "customer_id": state.customer.id if state.customer else None,
        "message_count": state.message_count,
        **_attention_fields(state),
        "has_open_dispute": state.open_dispute is not None,
        "activity_ts": _ts(activity),
    }


def _attention_fields(state: ThreadState) -> Document:
    """Per party, the fold's figures the list filters and the bell query on (``<figure>_for_<party>``)."""
    fields: Document = {}
    for party in PARTIES:
        attention = state.attention_for(party)
        fields |= {
            unread_field(party): attention.unread_messages,
            unseen_dispute_field(party): attention.unseen_dispute,
            news_field(party): attention.has_news,
        }
    return fields


def projection_from_document(doc: Document) -> ThreadProjection:
    """The projection a threads document stores."""
    started = doc.get("started_at")
    return ThreadProjection(
        state=ThreadState.model_validate(doc["state"]),
        keywords=frozenset(doc.get("keywords", ())),
        started_at=datetime.fromisoformat(started) if started else None,
        latest_by_party=_latest_by_party(doc),
    )


def _latest_by_party(doc: Document) -> dict[str, LastMessage]:
    stored = doc.get("latest_by_party")
    if stored is not None:
        return {party: LastMessage.model_validate(m) for party, m in stored.items()}
    # A document written before the field existed: its last message is the best we know.
    last = LastMessage.model_validate(doc["state"]["last_message"]) if doc["state"].get("last_message") else None
    return {last.author.party: last} if last else {}


def message_document(event: MessagePostedV1) -> Document:
    """The messages document of a posted message (``_id`` is the message id)."""
    return {
        "order_id": event.order_id,
        "seq": event.seq,
        "body": event.body,
        "author": event.actor.model_dump(mode="json"),
        "posted_at": event.occurred_at.isoformat(),
        "position": event.position,
    }


def order_thread_fields(projection: ThreadProjection) -> Document:
    """The fields of an orders document that follow the order's thread."""
    state = projection.state
    return {
        "has_messages": state.message_count > 0,
        "message_count": state.message_count,
        unread_field(ADMIN): state.unread_for(ADMIN),
        "thread_version": state.version,
        "thread_position": state.position,
    }


def order_from_thread(projection: ThreadProjection) -> Document:
    """A whole orders document for an order first seen through its thread."""
    state = projection.state
    customer = state.customer.model_dump(mode="json") if state.customer else None
    placed = projection.started_at
    return {
        "order_number": state.order_number,
        "customer": customer,
        "customer_id": state.customer.id if state.customer else None,
        "placed_at": None,
        "placed_ts": _ts(placed),
        **order_thread_fields(projection),
    }


def order_registration_fields(event: OrderRegisteredV1) -> Document:
    """The fields an OrderRegistered event sets on an orders document."""
    return {
        "order_number": event.order_number,
        "customer": event.customer.model_dump(mode="json"),
        "customer_id": event.customer.id,
        "placed_at": event.placed_at.isoformat() if event.placed_at else None,
        "placed_ts": _ts(event.placed_at or event.occurred_at),
        "registered": True,
    }


ORDER_DEFAULTS: Document = {
    "has_messages": False,
    "message_count": 0,
    unread_field(ADMIN): 0,
    "thread_version": 0,
    "thread_position": 0,
}


def thread_row(doc: Document, party: str) -> Document:
    """A ThreadRow (docs/interfaces.md) for a caller speaking as ``party``."""
    return _row(doc, ThreadState.model_validate(doc["state"]), party)


def _row(doc: Document, state: ThreadState, party: str) -> Document:
    """The ThreadRow of a document whose state is validated already."""
    open_dispute = state.open_dispute
    return {
        "order_id": state.order_id,
        "order_number": state.order_number,
        "thread_id": state.thread_id,
        "customer": state.customer.model_dump(mode="json") if state.customer else None,
        "last_message": state.last_message.model_dump(mode="json") if state.last_message else None,
        "message_count": state.message_count,
        unread_field(ADMIN): state.unread_for(ADMIN),
        unread_field(CUSTOMER): state.unread_for(CUSTOMER),
        "unread": state.unread_for(party),
        "unseen_dispute": state.unseen_dispute_for(party),
        "has_news": state.has_news_for(party),
        "read_positions": dict(state.read_positions),
        "dispute": open_dispute.model_dump(mode="json") if open_dispute else None,
        "last_dispute": state.disputes[-1].model_dump(mode="json") if state.disputes else None,
        "news": news_fields(state, _latest_by_party(doc), party),
        "last_activity_at": state.last_activity_at.isoformat() if state.last_activity_at else _started(doc),
        "version": state.version,
        "position": state.position,
    }


def _started(doc: Document) -> str | None:
    value = doc.get("started_at")
    return str(value) if value else None


def thread_detail(doc: Document, party: str, messages: list[Document], older: bool = False) -> Document:
    """A ThreadDetail: a ThreadRow with one page of messages (oldest first) and the whole dispute history.

    Nothing here is computed from the messages: the counts, read positions and disputes come from the
    thread's state, so a page answers them as the whole thread would. ``older``: messages exist before the page.
    """
    state = ThreadState.model_validate(doc["state"])  # validated once for the row and the disputes
    row = _row(doc, state, party)
    row["messages"] = [
        {
            "message_id": m["_id"],
            "seq": m["seq"],
            "body": m["body"],
            "author": m["author"],
            "posted_at": m["posted_at"],
        }
        for m in messages
    ]
    row["disputes"] = [d.model_dump(mode="json") for d in state.disputes]
    row["older"] = older and bool(messages)
    row["next_before_seq"] = messages[0]["seq"] if row["older"] else None
    return row


def order_row(doc: Document) -> Document:
    """An OrderRow (docs/interfaces.md)."""
    return {
        "order_id": doc["_id"],
        "order_number": doc.get("order_number"),
        "customer": doc.get("customer"),
        "placed_at": doc.get("placed_at"),
        "has_messages": bool(doc.get("has_messages")),
        "message_count": int(doc.get("message_count", 0)),
        unread_field(ADMIN): int(doc.get(unread_field(ADMIN), 0)),
    }
