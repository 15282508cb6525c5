"""The id of every message of a thread, with where it landed: cheap to snapshot and to load from a snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any
from uuid import UUID

HEX = 32  # characters of a UUID's hex form


class MessageIds:
    """Message id -> (seq, thread version that recorded it), for answering a repeated post.

    A thread keeps every message id it holds (a repeated id posts nothing new, however old the first
    post), which a thread of 10,000 messages makes the bulk of its state. Ids loaded from a snapshot
    stay as that snapshot gave them, one string of their hex forms with lists of their seqs and
    versions, searched when asked (``str.find``: fractions of a millisecond at 10,000 ids); building
    10,000 ``UUID`` objects instead would cost tens of milliseconds per load. Ids added since are kept
    in a dict, and their hex forms are remembered once a snapshot has encoded them.
    """

    __slots__ = ("_encoded", "_hex", "_recent", "_seqs", "_versions")

    def __init__(self, hex_ids: str = "", seqs: Iterable[int] = (), versions: Iterable[int] = ()) -> None:
        self._hex = hex_ids
        self._seqs = list(seqs)
        self._versions = list(versions)
        if len(self._hex) != HEX * len(self._seqs) or len(self._seqs) != len(self._versions):
            raise ValueError("message ids, seqs and versions do not line up")
        self._recent: dict[UUID, tuple[int, int]] = {}
        self._encoded: list[str] = []  # the hex forms of the first len(_encoded) recent ids

    def __len__(self) -> int:
        """How many ids are held."""
        return len(self._seqs) + len(self._recent)

    def __contains__(self, message_id: object) -> bool:
        """Whether ``message_id`` is held."""
        return isinstance(message_id, UUID) and self.get(message_id) is not None

    def __eq__(self, other: object) -> bool:
        """The same ids with the same seqs and versions, however they are kept."""
        return isinstance(other, MessageIds) and self.state() == other.state()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def get(self, message_id: UUID) -> tuple[int, int] | None:
        """(seq, version) of ``message_id``, or None if no message has that id."""
        found = self._recent.get(message_id)
        if found is not None or not self._hex:
            return found
        target, at = message_id.hex, -1
        while True:
            at = self._hex.find(target, at + 1)
            if at < 0:
                return None
            if at % HEX == 0:  # not a match straddling two ids
                index = at // HEX
                return self._seqs[index], self._versions[index]

    def add(self, message_id: UUID, seq: int, version: int) -> None:
        """Hold ``message_id`` as recorded at ``seq`` by ``version``."""
        self._recent[message_id] = (seq, version)

    def truncate(self, length: int) -> None:
        """Drop the ids added after the first ``length`` (the latest first), as before an unsaved change."""
        kept = length - len(self._seqs)
        if kept < 0:
            raise ValueError("ids loaded from a snapshot are never dropped")
        for _ in range(len(self._recent) - kept):
            self._recent.popitem()
        del self._encoded[kept:]

    def state(self) -> dict[str, Any]:
        """Every id as one hex string, with their seqs and versions in the same order (plain JSON values)."""
        recent = self._recent
        self._encoded.extend(u.hex for u in islice(recent, len(self._encoded), None))
        return {
            "ids": self._hex + "".join(self._encoded),
            "seqs": [*self._seqs, *(seq for seq, _ in recent.values())],
            "versions": [*self._versions, *(version for _, version in recent.values())],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MessageIds:
        """The ids ``state`` holds (as ``state`` gave them)."""
        return cls(str(state["ids"]), state["seqs"], state["versions"])
