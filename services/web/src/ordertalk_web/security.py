"""Security headers of every page: a strict Content-Security-Policy and friends."""

from __future__ import annotations

from ordertalk_web.client_config import api_origins
from ordertalk_web.settings import WebSettings


def content_security_policy(settings: WebSettings) -> str:
    """Scripts and styles from this origin only; network calls to this origin and the APIs."""
    connect = " ".join(["'self'", *api_origins(settings)])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(settings: WebSettings) -> dict[str, str]:
    """Headers added to every answer of the web service."""
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
