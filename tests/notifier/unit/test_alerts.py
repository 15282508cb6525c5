"""Bell descriptions and audiences."""

from __future__ import annotations

from ordertalk_threadstate import apply_event
from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_notifier.alerts import audiences, description_for


def test_descriptions_say_what_happened_and_skip_the_actors_own_side() -> None:
    t = ThreadBuilder(order_number="#00011", customer_name="Jane\r\n  Doe")
    state = apply_event(None, t.started())
    msg = t.message(t.customer)
    state = apply_event(state, msg)
    assert description_for("admin", msg, state) == "New message for order #00011 from Jane Doe"
    assert description_for(f"customer:{t.customer_id}", msg, state) is None
    opened = t.dispute_opened(ADMIN)
    state = apply_event(state, opened)
    assert description_for("admin", opened, state) is None
    assert (
        description_for(f"customer:{t.customer_id}", opened, state) == "Dispute opened on order #00011 by Admin Admin"
    )
    closed = t.dispute_closed(t.customer)
    state = apply_event(state, closed)
    assert description_for("admin", closed, state) == "Dispute closed on order #00011 by Jane Doe"
    read = t.read(ADMIN)
    assert description_for(f"customer:{t.customer_id}", read, apply_event(state, read)) is None
    assert audiences(state) == ["admin", f"customer:{t.customer_id}"]
