"""The list queries' page and total filters: the same documents, each written for its own index (pure)."""

from __future__ import annotations

from ordertalk_projections.adapters.mongo_queries import explicit_eq, list_filters, orders_filters
from ordertalk_projections.domain.reading import Viewer

ADMIN = Viewer.of("admin", "staff")
CUSTOMER = Viewer.of("customer", "c-1")


def test_explicit_eq_wraps_bare_values_only() -> None:
    flt = {"customer_id": "c-1", "has_conversation": True, "unread_for_admin": {"$gt": 0}, "$and": [{"a": 1}]}
    assert explicit_eq(flt) == {
        "customer_id": {"$eq": "c-1"},
        "has_conversation": {"$eq": True},
        "unread_for_admin": {"$gt": 0},
        "$and": [{"a": 1}],
    }


def test_the_page_always_names_conversations_the_total_only_where_the_kind_does_not_imply_them() -> None:
    page, total = list_filters(ADMIN, None, "unread")
    assert page == {"unread_for_admin": {"$gt": 0}, "has_conversation": {"$eq": True}}
    assert total == {"unread_for_admin": {"$gt": 0}}
    page, total = list_filters(CUSTOMER, "parcel", "all")
    assert page == {
        "customer_id": {"$eq": "c-1"},
        "keywords": {"$all": ["parcel"]},
        "has_conversation": {"$eq": True},
    }
    assert total == {"customer_id": "c-1", "keywords": {"$all": ["parcel"]}, "has_conversation": True}
    for kind in ("disputes", "unseen_disputes", "news"):
        assert "has_conversation" not in list_filters(ADMIN, None, kind)[1]


def test_unread_orders_page_names_has_messages_which_unread_implies() -> None:
    assert orders_filters(ADMIN, "unread") == (
        {"unread_for_admin": {"$gt": 0}, "has_messages": {"$eq": True}},
        {"unread_for_admin": {"$gt": 0}},
    )
    assert orders_filters(CUSTOMER, "all") == ({"customer_id": {"$eq": "c-1"}}, {"customer_id": "c-1"})
