"""Bell counts maintained by deltas, in the fold's vocabulary."""

from __future__ import annotations

from ordertalk_threadstate import Attention, apply_event
from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_notifier.tally import NOTHING, BellTally, Contribution


def bell(news: int, messages: int, disputes: int) -> dict[str, int]:
    return {"threads_with_news": news, "threads_with_unread_messages": messages, "unseen_disputes": disputes}


def test_load_counts_each_thread_with_news_once() -> None:
    tally = BellTally()
    both = Attention(unread_messages=2, unseen_dispute=True)
    tally.load(
        [
            Contribution("c1", admin=both),
            Contribution("c1", customer=Attention(3, False)),
            Contribution(None, admin=Attention(1, False)),
            Contribution("c2", admin=Attention(0, True)),
        ]
    )
    assert tally.admin() == bell(3, 2, 2)
    assert tally.customer("c1") == bell(1, 1, 0)
    assert tally.customer("nobody") == bell(0, 0, 0)


def test_deltas_follow_the_fold_a_dispute_without_a_message_and_your_own_dispute() -> None:
    tally = BellTally()
    tally.load([])
    t = ThreadBuilder(customer_id="c2")
    states = [apply_event(None, t.started())]
    for event in (t.message(ADMIN), t.read(t.customer), t.dispute_opened(t.customer)):
        states.append(apply_event(states[-1], event))
        tally.apply(states[-2], states[-1])
    assert tally.admin() == bell(1, 0, 1)  # the customer's dispute, with no new message
    assert tally.customer("c2") == bell(0, 0, 0)  # read, and the dispute is the customer's own
    states.append(apply_event(states[-1], t.read(ADMIN)))  # no message to read: the dispute is now seen
    tally.apply(states[-2], states[-1])
    assert tally.admin() == bell(0, 0, 0)
    states.append(apply_event(states[-1], t.dispute_closed(ADMIN)))
    states.append(apply_event(states[-1], t.dispute_opened(ADMIN)))
    tally.apply(states[-3], states[-1])
    assert tally.admin() == bell(0, 0, 0) and tally.customer("c2") == bell(1, 0, 1)


def test_a_stored_row_becomes_its_contribution_and_invalidate_needs_a_load() -> None:
    row = ("c1", 2, False, 0, True)
    assert Contribution.from_row(row) == Contribution("c1", Attention(2, False), Attention(0, True))
    assert Contribution.of(None) == Contribution(None, NOTHING, NOTHING)
    tally = BellTally()
    tally.load([Contribution.from_row(row)])
    assert tally.loaded
    tally.invalidate()
    assert not tally.loaded
