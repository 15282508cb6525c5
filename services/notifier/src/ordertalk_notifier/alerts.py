"""What a bell alert says and whom it reaches: (event, thread state) -> description and audiences; pure."""

from __future__ import annotations

from ordertalk_threadstate import ThreadState

from ordertalk_contracts import DisputeClosedV1, DisputeOpenedV1, MessagePostedV1, ThreadEvent

ADMIN_AUDIENCE = "admin"


def customer_audience(customer_id: str) -> str:
    """The audience key of one customer's browsers."""
    return f"customer:{customer_id}"


def audiences(state: ThreadState) -> list[str]:
    """Who follows this thread's bell: the store's staff and the order's customer (when known)."""
    found = [ADMIN_AUDIENCE]
    if state.customer is not None:
        found.append(customer_audience(state.customer.id))
    return found


def describe(event: ThreadEvent, state: ThreadState) -> str | None:
    """A one-line description of what happened, or None for events that are not news (reads)."""
    number = state.order_number or event.order_id
    who = " ".join(event.actor.display_name.split()) or event.actor.role
    if isinstance(event, MessagePostedV1):
        return f"New message for order {number} from {who}"
    if isinstance(event, DisputeOpenedV1):
        return f"Dispute opened on order {number} by {who}"
    if isinstance(event, DisputeClosedV1):
        return f"Dispute closed on order {number} by {who}"
    return None


def description_for(audience: str, event: ThreadEvent, state: ThreadState) -> str | None:
    """The description an audience sees: nobody is told about their own side's action."""
    own = event.actor.party == "admin" if audience == ADMIN_AUDIENCE else event.actor.party == "customer"
    return None if own else describe(event, state)
