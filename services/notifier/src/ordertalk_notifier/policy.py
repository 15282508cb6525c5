"""Who gets which e-mail: (event, thread state) -> notifications; pure, no I/O."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from ordertalk_threadstate import ThreadState

from ordertalk_contracts import (
    DisputeClosedV1,
    DisputeOpenedV1,
    MessagePostedV1,
    ThreadEvent,
)

Kind = Literal["message", "dispute_opened", "dispute_closed"]
Audience = Literal["store", "customer"]
EXCERPT_CHARS = 300


@dataclass(frozen=True, slots=True)
class Links:
    """Addresses the policy needs: the store's notification address and the UI base URLs."""

    store_email: str
    admin_base_url: str
    storefront_base_url: str

    def thread_link(self, audience: Audience, order_id: str) -> str:
        """Where the recipient reads the thread: the order page's Messages tab for the store, the storefront's
        order page for a customer."""
        oid = quote(order_id, safe="")
        if audience == "store":
            return f"{self.admin_base_url.rstrip('/')}/orders/{oid}#messages"
        return f"{self.storefront_base_url.rstrip('/')}/orders/{oid}"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who an e-mail goes to."""

    audience: Audience
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Notification:
    """One e-mail to send: about which event, to whom, saying what."""

    event_id: str
    kind: Kind
    recipient: Recipient
    order_id: str
    order_number: str
    author_name: str
    author_role: str
    text: str
    link: str
    occurred_at: datetime
    reply_to: Recipient | None = None

    def payload(self) -> dict[str, Any]:
        """The notification as a JSON-able document (kept in the outbox, rendered when sent)."""

        def who(r: Recipient | None) -> dict[str, str] | None:
            return None if r is None else {"audience": r.audience, "email": r.email, "name": r.name}

        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "recipient": who(self.recipient),
            "order_id": self.order_id,
            "order_number": self.order_number,
            "author_name": self.author_name,
            "author_role": self.author_role,
            "text": self.text,
            "link": self.link,
            "occurred_at": self.occurred_at.isoformat(),
            "reply_to": who(self.reply_to),
        }

    @classmethod
    def from_payload(cls, doc: dict[str, Any]) -> Notification:
        """The notification a ``payload()`` document describes."""
        reply_to = doc.get("reply_to")
        return cls(
            event_id=doc["event_id"],
            kind=doc["kind"],
            recipient=Recipient(**doc["recipient"]),
            order_id=doc["order_id"],
            order_number=doc["order_number"],
            author_name=doc["author_name"],
            author_role=doc["author_role"],
            text=doc["text"],
            link=doc["link"],
            occurred_at=datetime.fromisoformat(doc["occurred_at"]),
            reply_to=Recipient(**reply_to) if reply_to else None,
        )

    @property
    def key(self) -> str:
        """Unique key of (event, recipient): the outbox sends each key once."""
        return f"{self.event_id}:{recipient_digest(self.recipient.email)}"


def recipient_digest(email: str) -> str:
    """A short stable digest of an address (case-insensitive)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


_BLANK_LINES = re.compile(r"\n{3,}")


def mail_excerpt(body: str, limit: int = EXCERPT_CHARS) -> str:
    """An e-mail's excerpt of a text: line breaks kept (one blank line at most), cut at ``limit`` characters."""
    lines = [line.rstrip() for line in body.splitlines()]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _kind(event: ThreadEvent) -> tuple[Kind, str] | None:
    if isinstance(event, MessagePostedV1):
        return "message", mail_excerpt(event.body, EXCERPT_CHARS)
    if isinstance(event, DisputeOpenedV1):
        return "dispute_opened", mail_excerpt(event.reason, EXCERPT_CHARS)
    if isinstance(event, DisputeClosedV1):
        return "dispute_closed", ""
    return None


def recipients(event: ThreadEvent, state: ThreadState, links: Links) -> list[Recipient]:
    """Everyone on the thread except the side that acted: the store and/or the order's customer."""
    party = event.actor.party
    found: list[Recipient] = []
    if party != "admin":
        found.append(Recipient("store", links.store_email, "Store"))
    customer = state.customer
    if party != "customer" and customer is not None:
        found.append(Recipient("customer", str(customer.email), customer.name))
    return found


def notifications_for(event: ThreadEvent, state: ThreadState, links: Links) -> list[Notification]:
    """The e-mails an event causes: messages and dispute changes reach the other side; reads cause none."""
    what = _kind(event)
    if what is None:
        return []
    kind, text = what
    customer = state.customer
    customer_contact = Recipient("customer", str(customer.email), customer.name) if customer else None
    store_contact = Recipient("store", links.store_email, "Store")
    notes = []
    for recipient in recipients(event, state, links):
        notes.append(
            Notification(
                event_id=str(event.event_id),
                kind=kind,
                recipient=recipient,
                order_id=event.order_id,
                order_number=state.order_number or event.order_id,
                author_name=event.actor.display_name,
                author_role=event.actor.role,
                text=text,
                link=links.thread_link(recipient.audience, event.order_id),
                occurred_at=event.occurred_at,
                reply_to=customer_contact if recipient.audience == "store" else store_contact,
            )
        )
    return notes
