"""The bell's figures over many threads, built from each thread's Attention; pure."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ordertalk_threadstate.state import Attention


class BellCounts(BaseModel):
    """One party's bell: the same three figures for the staff and for a customer, over the threads they see."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threads_with_news: int = Field(
        ge=0, description="The badge: threads with unread messages or an unseen open dispute (each thread once)."
    )
    threads_with_unread_messages: int = Field(
        ge=0, description="Threads with messages by others after the party's read position (the Messages line)."
    )
    unseen_disputes: int = Field(
        ge=0, description="Open disputes opened by someone else after the party last read the thread (Disputes)."
    )


EMPTY_BELL = BellCounts(threads_with_news=0, threads_with_unread_messages=0, unseen_disputes=0)


def bell_counts(attentions: Iterable[Attention]) -> BellCounts:
    """The bell over these threads' attentions (one per thread)."""
    news = messages = disputes = 0
    for a in attentions:
        news += a.has_news
        messages += a.unread_messages > 0
        disputes += a.unseen_dispute
    return BellCounts(threads_with_news=news, threads_with_unread_messages=messages, unseen_disputes=disputes)
