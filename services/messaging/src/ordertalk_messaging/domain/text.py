"""Text rules of messages and dispute reasons: trimmed length and allowed characters."""

from __future__ import annotations

import unicodedata

from ordertalk_messaging.domain.errors import InvalidText

MAX_BODY_CHARS = 5000
MAX_REASON_CHARS = 1000
_ALLOWED_CONTROLS = frozenset("\n\t")


def _is_forbidden(char: str) -> bool:
    if char in _ALLOWED_CONTROLS:
        return False
    return unicodedata.category(char) == "Cc"


def clean_text(value: str, *, what: str, max_chars: int) -> str:
    """``value`` trimmed; InvalidText if it is empty, too long or holds control characters."""
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidText(f"{what} must not be empty")
    if len(text) > max_chars:
        raise InvalidText(f"{what} is {len(text)} characters long; at most {max_chars} are allowed")
    bad = next((c for c in text if _is_forbidden(c)), None)
    if bad is not None:
        allowed = "only line breaks and tabs are allowed"
        raise InvalidText(f"{what} contains the control character U+{ord(bad):04X}; {allowed}")
    return text


def clean_body(value: str) -> str:
    """A message body: plain text, 1–5000 characters after trimming."""
    return clean_text(value, what="message body", max_chars=MAX_BODY_CHARS)


def clean_reason(value: str) -> str:
    """A dispute reason: 1–1000 characters after trimming."""
    return clean_text(value, what="dispute reason", max_chars=MAX_REASON_CHARS)
