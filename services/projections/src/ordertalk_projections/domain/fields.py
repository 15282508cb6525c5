"""The read side's parties and per-party field names: the shared ones of ``ordertalk_threadstate.fields``.

The threads documents store one figure of the fold per party (``<figure>_for_<party>``); the list filters,
the bell, the indexes and the API rows name them through these functions, never by spelling them again.
"""

from __future__ import annotations

from ordertalk_threadstate.fields import ADMIN, CUSTOMER, PARTIES, news_field, unread_field, unseen_dispute_field

__all__ = ["ADMIN", "CUSTOMER", "PARTIES", "news_field", "unread_field", "unseen_dispute_field"]
