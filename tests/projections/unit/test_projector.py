"""The pure projector: ordering, redelivery, gaps, keywords; no servers."""

from __future__ import annotations

from tests.projections.scripts import ADMIN, Positions, ThreadScript

from ordertalk_projections.domain.documents import thread_document, thread_row
from ordertalk_projections.domain.keywords import query_words, words
from ordertalk_projections.domain.projector import fold


def script() -> ThreadScript:
    s = ThreadScript.new(Positions(), number="#00011")
    s.start()
    s.post("Where is my PARCEL?")
    s.post("On its way", ADMIN)
    s.open_dispute("Too slow")
    s.post("Still nothing")
    return s


def test_fold_applies_in_version_order_and_counts_unread() -> None:
    s = script()
    outcome = fold(None, s.events)
    assert outcome.projection is not None and not outcome.waiting
    doc = thread_document(outcome.projection)
    assert (doc["version"], doc["message_count"], doc["unread_for_admin"], doc["unread_for_customer"]) == (5, 3, 1, 0)
    assert doc["has_open_dispute"] is True
    # the customer's dispute came after the admin's reply: unseen by the staff, and the customer's own
    assert (doc["unseen_dispute_for_admin"], doc["news_for_admin"]) == (True, True)
    assert (doc["unseen_dispute_for_customer"], doc["news_for_customer"]) == (False, False)
    assert {"parcel", "00011", "11", "still"} <= set(doc["keywords"])


def test_redelivered_and_shuffled_events_give_the_same_projection() -> None:
    s = script()
    once = fold(None, s.events).projection
    shuffled = fold(None, [s.events[3], *s.events, s.events[0], s.events[1]]).projection
    assert once == shuffled
    again = fold(once, s.events)
    assert again.projection == once and not again.changed


def test_events_beyond_a_gap_wait_and_are_not_counted() -> None:
    s = script()
    first = fold(None, [s.events[0], s.events[2], s.events[4]])
    assert first.projection is not None and first.projection.state.version == 1
    assert [e.thread_version for e in first.waiting] == [3, 5]
    assert first.missing_versions == (2, 2)
    healed = fold(first.projection, [s.events[1], *first.waiting])
    assert healed.projection is not None and healed.projection.state.version == 3
    assert [e.thread_version for e in healed.waiting] == [5]
    done = fold(healed.projection, [s.events[3], *healed.waiting])
    assert done.projection == fold(None, s.events).projection


def test_thread_row_speaks_for_the_callers_party() -> None:
    projection = fold(None, script().events).projection
    assert projection is not None
    doc = {"_id": projection.state.order_id, **thread_document(projection)}
    admin, customer = thread_row(doc, "admin"), thread_row(doc, "customer")
    assert (admin["unread"], customer["unread"]) == (1, 0)
    assert admin["dispute"]["reason"] == "Too slow"
    assert admin["last_message"]["excerpt"] == "Still nothing"


def test_keywords_are_case_and_zero_insensitive() -> None:
    assert words("Hello, World! #00011") == {"hello", "world", "00011", "11"}
    assert query_words("  WORLD #011 ") == ["11", "world"]
    assert query_words("") == [] and query_words(None) == []
