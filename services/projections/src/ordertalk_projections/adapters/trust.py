"""The projections' Voucher: thread events trusted only as far as the messaging event store vouches for them."""

from __future__ import annotations

from ordertalk_projections.adapters.feed import EventFeed
from ordertalk_projections.adapters.mongo_store import MongoReadModels
from ordertalk_projections.application.applier import CONSUMER
from ordertalk_runtime.vouching import FeedProbe, Voucher


def voucher_for(store: MongoReadModels, feed: EventFeed | None) -> Voucher | None:
    """A voucher over the feed, holding unvouched events in the store (None without a feed: all trusted)."""
    return None if feed is None else Voucher(FeedProbe(feed), store.held, CONSUMER)
