"""The read side's parties and per-party field names, defined once.

The threads documents store one figure of the fold per party (``<figure>_for_<party>``); the list filters,
the bell, the indexes and the API rows name them through these functions, never by spelling them again.
"""

from __future__ import annotations

ADMIN = "admin"
CUSTOMER = "customer"
PARTIES = (ADMIN, CUSTOMER)


def unread_field(party: str) -> str:
    """The unread-message count of ``party`` (threads and orders documents, API rows)."""
    return f"unread_for_{party}"


def unseen_dispute_field(party: str) -> str:
    """Whether ``party`` has not seen the open dispute (threads documents)."""
    return f"unseen_dispute_for_{party}"


def news_field(party: str) -> str:
    """Whether the thread has news for ``party``: unread messages or an unseen dispute (threads documents)."""
    return f"news_for_{party}"
