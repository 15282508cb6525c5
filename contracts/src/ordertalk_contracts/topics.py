"""The only place topic names are written."""

ORDERS = "shop.orders.v1"
"""Orders announced by the shop's order service (key: order id)."""

THREAD_EVENTS = "ordertalk.thread-events.v1"
"""Every stored thread event, in store order (key: order id)."""

DEAD_LETTERS = "ordertalk.dead-letters.v1"
"""Messages a consumer could not handle, with the reason in the headers."""

ALL_TOPICS = (ORDERS, THREAD_EVENTS, DEAD_LETTERS)
