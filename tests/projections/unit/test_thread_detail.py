"""The thread view's document: one page of messages, the rest from the thread's state; no servers."""

from __future__ import annotations

from tests.projections.scripts import ADMIN, Positions, ThreadScript

from ordertalk_contracts import MessagePostedV1
from ordertalk_projections.domain.documents import (
    Document,
    message_document,
    thread_detail,
    thread_document,
    thread_row,
)
from ordertalk_projections.domain.projector import fold


def thread() -> tuple[Document, list[Document]]:
    """A thread of 6 messages with a closed dispute after the second: its document and its message documents."""
    s = ThreadScript.new(Positions())
    s.start()
    for n in range(1, 7):
        s.post(f"message {n}", ADMIN if n % 2 == 0 else None)
        if n == 2:
            s.open_dispute("Broken")
            s.close_dispute()
    projection = fold(None, s.events).projection
    assert projection is not None
    doc = {"_id": s.order_id, **thread_document(projection)}
    messages = [{"_id": str(e.message_id), **message_document(e)} for e in s.events if isinstance(e, MessagePostedV1)]
    return doc, messages


def test_a_page_keeps_everything_the_state_says_and_points_to_the_page_before() -> None:
    doc, messages = thread()
    latest = thread_detail(doc, "admin", messages[-2:], older=True)
    assert [m["seq"] for m in latest["messages"]] == [5, 6]
    assert (latest["older"], latest["next_before_seq"]) == (True, 5)
    whole = thread_detail(doc, "admin", messages)
    assert (whole["older"], whole["next_before_seq"]) == (False, None)
    for page in (latest, whole):
        assert {k: v for k, v in page.items() if k not in ("messages", "older", "next_before_seq")} == {
            **thread_row(doc, "admin"),
            "disputes": whole["disputes"],
        }
    [dispute] = latest["disputes"]
    assert dispute["reason"] == "Broken" and dispute["closed_at"] is not None


def test_an_empty_page_has_nothing_before_it() -> None:
    doc, _ = thread()
    empty = thread_detail(doc, "customer", [], older=True)
    assert (empty["messages"], empty["older"], empty["next_before_seq"]) == ([], False, None)
    assert empty["message_count"] == 6 and len(empty["disputes"]) == 1
