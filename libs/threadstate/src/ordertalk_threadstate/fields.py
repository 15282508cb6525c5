"""The read sides' parties and per-party field names, defined once.

Every read side stores one figure of the fold per party (``<figure>_for_<party>``): the projections' threads
and orders documents, the notifier's thread documents. Their filters, bells, indexes and rows name them
through these functions, never by spelling them again.
"""

from __future__ import annotations

ADMIN = "admin"
CUSTOMER = "customer"
PARTIES = (ADMIN, CUSTOMER)


def unread_field(party: str) -> str:
    """The unread-message count of ``party``."""
    return f"unread_for_{party}"


def unseen_dispute_field(party: str) -> str:
    """Whether ``party`` has not seen the open dispute."""
    return f"unseen_dispute_for_{party}"


def news_field(party: str) -> str:
    """Whether the thread has news for ``party``: unread messages or an unseen dispute."""
    return f"news_for_{party}"
