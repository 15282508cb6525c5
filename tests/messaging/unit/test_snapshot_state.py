"""OrderThread's snapshot state: what it holds, the message ids kept as one hex string, upcasting an older shape."""

from __future__ import annotations

from array import array
from base64 import b64decode
from typing import Any
from uuid import UUID, uuid4

import pytest
from tests.messaging.threads import ADMIN, CUSTOMER, order_thread

from ordertalk_messaging.domain.message_ids import MessageIds
from ordertalk_messaging.domain.thread import OrderThread


def long_thread(messages: int) -> OrderThread:
    """A saved-looking thread (no pending events) of ``messages`` messages, a dispute open, both sides read."""
    thread = order_thread()
    for i in range(messages):
        thread.post_message(uuid4(), f"message {i}", ADMIN if i % 3 == 0 else CUSTOMER, None)
    thread.open_dispute_with("late", CUSTOMER, None)
    thread.mark_read(ADMIN, None)
    thread.collect_events()
    return thread


def test_a_thread_comes_back_from_its_snapshot_with_the_same_state_and_rules() -> None:
    thread = long_thread(50)
    snapshot = OrderThread.Snapshot.take(thread)
    assert snapshot.originator_version == thread.version and "class_version" not in snapshot.state
    loaded = snapshot.mutate(None)
    assert loaded.snapshot_state() == thread.snapshot_state() and loaded.snapshot_version == thread.version
    assert {k: v for k, v in vars(loaded).items() if k != "snapshot_version"} == {
        k: v for k, v in vars(thread).items() if k != "snapshot_version"
    }
    first_id = UUID(bytes=b64decode(snapshot.state["message_ids"]["ids"])[:16])
    again = loaded.post_message(first_id, "repeated", ADMIN, None)
    assert (again.seq, again.duplicate, loaded.pending_events) == (1, True, [])
    assert loaded.unseen_dispute_for("customer") is False and loaded.unseen_dispute_for("admin") is False
    assert loaded.mark_unread(ADMIN, None) == 49  # message 50 is the customer's (i=49)


def test_a_snapshot_holds_counts_not_messages() -> None:
    state = long_thread(300).snapshot_state()
    assert set(state) == {
        "order_id", "order_number", "customer_id", "customer_name", "customer_email", "message_count",
        "last_posted", "read_positions", "seen_versions", "dispute_count", "created_on", "modified_on",
        "open_dispute", "message_ids",
    }  # fmt: skip
    ids = state["message_ids"]
    assert len(b64decode(ids["ids"])) == 16 * 300 and len(b64decode(ids["versions"])) == 4 * 300
    assert array("I", b64decode(ids["seqs"])).tolist() == list(range(1, 301))
    assert state["last_posted"] == {"admin": 298, "customer": 300} and state["message_count"] == 300


def test_message_ids_from_a_snapshot_and_added_since_are_found_and_dropped_like_one_dict() -> None:
    old = [uuid4() for _ in range(3)]
    ids = MessageIds(b"".join(u.bytes for u in old), array("I", [1, 2, 3]), array("I", [2, 3, 5]))
    new = uuid4()
    ids.add(new, 4, 6)
    assert [ids.get(u) for u in [*old, new]] == [(1, 2), (2, 3), (3, 5), (4, 6)] and len(ids) == 4
    assert ids.get(uuid4()) is None and uuid4() not in ids and new in ids
    assert MessageIds.from_state(ids.state()) == ids
    ids.truncate(3)
    assert new not in ids and len(ids) == 3 and ids == MessageIds.from_state(ids.state())
    ids.add(new, 4, 7)
    assert ids.get(new) == (4, 7) and MessageIds.from_state(ids.state()).get(new) == (4, 7)
    ids.truncate(3)
    with pytest.raises(ValueError, match="never dropped"):
        ids.truncate(2)  # what a snapshot gave is never undone


def test_a_match_straddling_two_ids_is_not_an_id() -> None:
    a, b = UUID("aaaaaaaa" * 4), UUID("bbbbbbbb" * 4)
    ids = MessageIds(a.bytes + b.bytes, array("I", [1, 2]), array("I", [2, 3]))
    straddling = UUID("aaaaaaaa" * 2 + "bbbbbbbb" * 2)
    assert ids.get(straddling) is None and ids.get(b) == (2, 3)
    with pytest.raises(ValueError, match="do not line up"):
        MessageIds(a.bytes, array("I", [1, 2]), array("I", [2, 3]))


def test_a_snapshot_of_an_older_shape_is_upcast_when_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    thread = long_thread(5)
    old_state = thread.snapshot_state()
    old_state["read_up_to"] = old_state.pop("read_positions")  # as if version 1 had called it so
    snapshot = OrderThread.Snapshot(
        originator_id=thread.id,
        originator_version=thread.version,
        timestamp=OrderThread.Snapshot.create_timestamp(),
        topic=OrderThread.Snapshot.take(thread).topic,
        state=old_state,
    )

    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["read_positions"] = state.pop("read_up_to")

    monkeypatch.setattr(OrderThread, "class_version", 2)
    monkeypatch.setattr(OrderThread, "upcast_v1_v2", staticmethod(upcast_v1_v2), raising=False)
    assert snapshot.mutate(None).read_positions == thread.read_positions
    assert OrderThread.Snapshot.take(thread).state["class_version"] == 2
