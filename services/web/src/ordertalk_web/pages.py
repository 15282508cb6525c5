"""Which HTML page answers which path of the admin panel and the storefront."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"

PAGES: dict[str, str] = {
    "/": "signin.html",
    "/admin/messages": "admin-messages.html",
    "/admin/orders": "admin-orders.html",
    "/admin/orders/{order_id}": "admin-order.html",
    "/store/messages": "store-messages.html",
    "/store/orders/{order_id}": "store-order.html",
}

REDIRECTS: dict[str, str] = {
    "/admin": "/admin/messages",
    "/admin/": "/admin/messages",
    "/store": "/store/messages",
    "/store/": "/store/messages",
}


def page_file(name: str) -> Path:
    """The HTML file of a page."""
    return STATIC_DIR / name
