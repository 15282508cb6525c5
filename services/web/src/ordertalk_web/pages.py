"""Which HTML page answers which path of the admin panel and the storefront."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Literal
from urllib.parse import quote

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


# Paths that once answered nothing but that e-mails already sent link to: path -> the page it stands for.
THREAD_ALIASES: dict[str, str] = {
    "/admin/orders/{order_id}/messages": "/admin/orders/{order_id}#messages",
}

Section = Literal["admin", "store"]
_HOME: dict[Section, tuple[str, str]] = {
    "admin": ("/admin/messages", "Go to Orders → Messages"),
    "store": ("/store/messages", "Go to My account → Messages"),
}


def page_file(name: str) -> Path:
    """The HTML file of a page."""
    return STATIC_DIR / name


def alias_target(template: str, order_id: str) -> str:
    """Where an alias of an order's page sends the browser (the id quoted again, so it stays one path segment)."""
    return template.replace("{order_id}", quote(order_id, safe=""))


def page_section(path: str) -> Section | None:
    """The part of the site a path belongs to: the admin panel, the storefront, or neither."""
    for section in ("admin", "store"):
        if path == f"/{section}" or path.startswith(f"/{section}/"):
            return section
    return None


def wants_html(accept: str) -> bool:
    """Whether the client asked for a page (a browser navigating) rather than data."""
    types = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
    return bool(types & {"text/html", "application/xhtml+xml"})


def not_found_page(section: Section, store_name: str) -> str:
    """The HTML "page not found" of a section (nothing of the request is echoed)."""
    home, label = _HOME[section]
    store = html.escape(store_name, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Page not found — {store}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/css/app.css">
</head>
<body class="signin">
  <main id="main" class="signin-main">
    <div class="card signin-card" id="not-found">
      <h1>Page not found</h1>
      <p>There is no page at this address. The link may be incomplete, or the page may have moved.</p>
      <p><a href="{home}">{label}</a></p>
    </div>
  </main>
</body>
</html>
"""
