"""Who takes part in a thread: a role, an id within it, a display name, and the party they speak for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Transcoding

ADMIN_PARTY = "admin"
CUSTOMER_PARTY = "customer"


@dataclass(frozen=True, slots=True)
class Participant:
    """An actor of the domain (``role`` is admin, customer, vendor or system)."""

    role: str
    id: str
    name: str

    @property
    def party(self) -> str:
        """The side of the conversation: all staff are ``admin``; a vendor is ``vendor:<id>``."""
        return f"vendor:{self.id}" if self.role == "vendor" else self.role


ORDER_SERVICE = Participant(role="system", id="orders", name="Order service")


class ParticipantAsDict(Transcoding):
    """Stores a Participant in events as a plain JSON object."""

    type = Participant
    name = "participant"

    def encode(self, obj: Participant) -> dict[str, str]:
        """Participant -> JSON object."""
        return {"role": obj.role, "id": obj.id, "name": obj.name}

    def decode(self, data: Any) -> Participant:
        """JSON object -> Participant."""
        return Participant(role=str(data["role"]), id=str(data["id"]), name=str(data["name"]))
