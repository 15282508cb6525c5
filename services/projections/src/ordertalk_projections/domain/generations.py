"""Versioned read-model collections: generation n lives in threads_v<n>, messages_v<n>, ..."""

from __future__ import annotations

from dataclasses import dataclass

POINTER_COLLECTION = "meta"
POINTER_ID = "active_generation"
PROGRESS_COLLECTION = "progress"
REBUILDS_COLLECTION = "rebuilds"
REBUILD_ID = "current"  # the one rebuild state document (running or done)
FIRST_GENERATION = 1
# Live workers re-read the active-generation pointer at most this long after their last read (seconds);
# a rebuild waits this long after switching before its last catch-up, so that every event a worker fetched
# while it still used the old generation is inside the range the rebuild reads again.
POINTER_TTL = 0.5


@dataclass(frozen=True, slots=True)
class Generation:
    """One complete set of read-model collections."""

    number: int

    @property
    def threads(self) -> str:
        """Inbox rows, one per order's thread."""
        return f"threads_v{self.number}"

    @property
    def messages(self) -> str:
        """Every message, for showing a whole thread."""
        return f"messages_v{self.number}"

    @property
    def orders(self) -> str:
        """Orders with their message flags (Orders list filter)."""
        return f"orders_v{self.number}"

    @property
    def parked(self) -> str:
        """Events that arrived beyond a version gap, waiting for the missing ones."""
        return f"parked_v{self.number}"

    def progress_id(self, writer: str) -> str:
        """The progress document id of ``writer`` in this generation."""
        return f"v{self.number}:{writer}"
