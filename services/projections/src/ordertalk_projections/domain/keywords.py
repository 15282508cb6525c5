"""Search keywords: the words of message text and order numbers, as stored and as queried."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")
MAX_QUERY_WORDS = 8


def words(text: str) -> set[str]:
    """The distinct lower-case words of ``text`` (an order number ``#00011`` gives ``00011`` and ``11``)."""
    found = {w for w in _WORD.findall(text.casefold()) if w}
    for word in list(found):
        if word.isdigit() and word.lstrip("0") and word.lstrip("0") != word:
            found.add(word.lstrip("0"))
    return found


def query_words(query: str | None) -> list[str]:
    """The words a keyword query must all match (at most MAX_QUERY_WORDS), in a stable order."""
    if not query:
        return []
    return sorted({w.lstrip("0") or w if w.isdigit() else w for w in _WORD.findall(query.casefold())})[:MAX_QUERY_WORDS]
