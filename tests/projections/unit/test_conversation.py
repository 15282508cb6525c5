"""Pure: which threads are conversations, what a row says is new, and the words a dispute reason adds."""

from __future__ import annotations

from tests.projections.scripts import ADMIN, Positions, ThreadScript

from ordertalk_projections.domain.conversation import has_conversation, news_fields
from ordertalk_projections.domain.documents import projection_from_document, thread_document, thread_row
from ordertalk_projections.domain.projector import ThreadProjection, fold


def folded(script: ThreadScript) -> ThreadProjection:
    projection = fold(None, script.events).projection
    assert projection is not None
    return projection


def test_a_started_thread_is_no_conversation_until_a_message_or_a_dispute() -> None:
    silent, disputed, talked = (ThreadScript.new(Positions()) for _ in range(3))
    for script in (silent, disputed, talked):
        script.start()
    disputed.open_dispute("Late", ADMIN)
    disputed.close_dispute()
    talked.post("Hello")
    assert [has_conversation(folded(s).state) for s in (silent, disputed, talked)] == [False, True, True]
    assert thread_document(folded(silent))["has_conversation"] is False
    assert thread_document(folded(disputed))["has_conversation"] is True


def test_dispute_reasons_are_keywords() -> None:
    script = ThreadScript.new(Positions(), number="#00042")
    script.start()
    script.open_dispute("Parcel ARRIVED damaged")
    assert {"parcel", "arrived", "damaged", "42"} <= folded(script).keywords


def test_news_after_mark_unread_is_the_other_sides_latest_message() -> None:
    script = ThreadScript.new(Positions())
    script.start()
    script.post("Question one")
    script.post("Question two")
    script.read()
    script.post("Answer", ADMIN)
    script.mark_unread()
    projection = folded(script)
    assert projection.state.last_message is not None and projection.state.last_message.excerpt == "Answer"
    news = news_fields(projection.state, projection.latest_by_party, "admin")
    assert news["unread_messages"] == 1
    assert news["message"]["excerpt"] == "Question two" and news["message"]["author"]["role"] == "customer"
    # Stored and read back, the row says the same.
    doc = {"_id": script.order_id, **thread_document(projection)}
    assert projection_from_document(doc).latest_by_party == projection.latest_by_party
    assert thread_row(doc, "admin")["news"] == news
    assert thread_row(doc, "customer")["news"]["message"]["excerpt"] == "Answer"


def test_a_dispute_is_news_for_the_other_side_only() -> None:
    script = ThreadScript.new(Positions())
    script.start()
    script.open_dispute("Never arrived")
    state = folded(script).state
    assert news_fields(state, {}, "admin")["dispute"]["reason"] == "Never arrived"
    assert news_fields(state, {}, "customer") == {"unread_messages": 0, "message": None, "dispute": None}


def test_a_document_from_before_the_latest_messages_were_kept_falls_back_to_the_last_message() -> None:
    script = ThreadScript.new(Positions())
    script.start()
    script.post("Where is it?")
    doc = {"_id": script.order_id, **thread_document(folded(script))}
    del doc["latest_by_party"]
    assert thread_row(doc, "admin")["news"]["message"]["excerpt"] == "Where is it?"
