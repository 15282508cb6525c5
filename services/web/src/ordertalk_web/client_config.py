"""What the browser is told about the system: API base URLs and features, as a JS module."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from ordertalk_web.settings import WebSettings


def _base(url: str) -> str:
    return url.rstrip("/")


def client_config(settings: WebSettings) -> dict[str, Any]:
    """The configuration the pages read at start-up."""
    return {
        "messagingUrl": _base(settings.messaging_public_url),
        "projectionsUrl": _base(settings.projections_public_url),
        "notifierUrl": _base(settings.notifier_public_url),
        "devSignin": settings.dev_signin,
        "storeName": settings.store_name,
    }


def config_module(settings: WebSettings) -> str:
    """``/config.js``: an ES module whose default export is :func:`client_config`."""
    payload = json.dumps(client_config(settings), sort_keys=True).replace("<", "\\u003c")
    return f"export default Object.freeze({payload});\n"


def api_origins(settings: WebSettings) -> list[str]:
    """The distinct origins (scheme://host:port) of the APIs the pages call."""
    origins: list[str] = []
    for url in (settings.messaging_public_url, settings.projections_public_url, settings.notifier_public_url):
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("http", "https") and parts.netloc and origin not in origins:
            origins.append(origin)
    return origins
