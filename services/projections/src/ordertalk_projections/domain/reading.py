"""Who reads and what they ask for: the viewer, the list kinds, the bell's figures (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ordertalk_projections.domain.fields import ADMIN, CUSTOMER

ThreadType = Literal["all", "unread", "disputes", "unseen_disputes", "news"]
AttentionKind = Literal["unread", "unseen_disputes", "news"]
OrderMessages = Literal["all", "unread", "any"]
BELL_FIGURES: tuple[AttentionKind, ...] = ("news", "unread", "unseen_disputes")  # in BellCounts' order


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads: their party and, for a customer, whose orders they may see."""

    party: str
    customer_id: str | None

    @classmethod
    def of(cls, role: str, subject: str) -> Viewer:
        """The viewer for an authenticated role and subject."""
        return cls(ADMIN, None) if role == ADMIN else cls(CUSTOMER, subject)
