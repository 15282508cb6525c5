"""Waiting for a condition with a deadline: the tests' one way to wait, never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None], timeout: float = 20.0, what: str = "condition", interval: float = 0.05
) -> T:
    """Poll ``check`` until it answers something truthy and return that; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last answer: {last!r}")
