"""Who asks for a use case."""

from __future__ import annotations

from dataclasses import dataclass

from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.domain.thread import OrderThread


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the participant, and for a customer the id whose orders they may touch."""

    participant: Participant
    customer_id: str | None = None

    def may_see(self, thread: OrderThread) -> bool:
        """Staff see every thread; a customer only their own."""
        return self.customer_id is None or thread.belongs_to_customer(self.customer_id)
