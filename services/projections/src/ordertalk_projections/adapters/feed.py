"""The messaging service's event feed, as the projections use it (the shared client in ``ordertalk_runtime``)."""

from ordertalk_runtime.event_feed import (
    FEED_PAGE_LIMIT,
    EventFeed,
    FeedError,
    FeedPage,
    HttpEventFeed,
    InMemoryEventFeed,
    dump_json,
    page_from_json,
)

__all__ = [
    "FEED_PAGE_LIMIT",
    "EventFeed",
    "FeedError",
    "FeedPage",
    "HttpEventFeed",
    "InMemoryEventFeed",
    "dump_json",
    "page_from_json",
]
