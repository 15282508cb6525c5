"""What can go wrong when a thread is asked to change: each error says why, in words for the caller."""

from __future__ import annotations


class DomainError(Exception):
    """A command the thread refuses; ``detail`` is a sentence for the caller."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidText(DomainError):
    """A message body or dispute reason breaks the text rules."""


class DisputeConflict(DomainError):
    """Opening a dispute while one is open, or closing when none is."""


class ThreadNotFound(DomainError):
    """No thread for this order, or not one the caller may see."""
