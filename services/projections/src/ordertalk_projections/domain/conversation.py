"""Pure: what makes a thread a conversation, and what in it is new for a viewer (the list rows' news)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ordertalk_threadstate import LastMessage, ThreadState

Document = dict[str, Any]


def has_conversation(state: ThreadState) -> bool:
    """A conversation: a thread with at least one message or one dispute (open or closed)."""
    return state.message_count > 0 or bool(state.disputes)


def latest_from_others(latest_by_party: Mapping[str, LastMessage], party: str) -> LastMessage | None:
    """The latest message written by anyone but ``party``."""
    others = [m for p, m in latest_by_party.items() if p != party]
    return max(others, key=lambda m: m.seq, default=None)


def news_fields(state: ThreadState, latest_by_party: Mapping[str, LastMessage], party: str) -> Document:
    """What a list row says is new for ``party`` (docs/interfaces.md, ``ThreadRow.news``).

    ``message`` is the latest unread message by others (never the viewer's own text, even after a
    mark-unread moved the viewer's position back behind it); ``dispute`` is the open dispute while
    the viewer has not seen it. The counts come from ``ordertalk_threadstate`` (one definition).
    """
    attention = state.attention_for(party)
    message = latest_from_others(latest_by_party, party) if attention.unread_messages else None
    dispute = state.open_dispute if attention.unseen_dispute else None
    return {
        "unread_messages": attention.unread_messages,
        "message": message.model_dump(mode="json") if message else None,
        "dispute": dispute.model_dump(mode="json") if dispute else None,
    }
