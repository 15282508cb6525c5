"""Bell counts maintained by deltas."""

from __future__ import annotations

from ordertalk_threadstate import apply_event
from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_notifier.tally import BellTally, Contribution


def test_load_then_deltas() -> None:
    tally = BellTally()
    tally.load([Contribution("c1", 2, 0, True), Contribution("c1", 0, 3, False), Contribution(None, 1, 0, False)])
    assert tally.admin() == {"unread_messages": 3, "unread_threads": 2, "open_disputes": 1}
    assert tally.customer("c1") == {"unread_messages": 3, "unread_threads": 1}
    t = ThreadBuilder(customer_id="c2")
    s1 = apply_event(None, t.started())
    s2 = apply_event(s1, t.message(ADMIN))
    tally.apply(None, s1)
    tally.apply(s1, s2)
    assert tally.customer("c2") == {"unread_messages": 1, "unread_threads": 1}
    tally.apply(s2, apply_event(s2, t.read(t.customer)))
    assert tally.customer("c2") == {"unread_messages": 0, "unread_threads": 0}
    tally.invalidate()
    assert not tally.loaded
