"""The common envelope every published event carries."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

Role = Literal["admin", "customer", "vendor", "system"]


class ContractModel(BaseModel):
    """Base of every contract model: immutable, and tolerant of fields added later."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Actor(ContractModel):
    """Who caused an event: a role, a stable id within that role and a display name."""

    role: Role
    id: str = Field(min_length=1, max_length=200)
    display_name: str = Field(max_length=200)

    @property
    def party(self) -> str:
        """The side of the conversation this actor speaks for.

        Store staff speak as one party (``admin``), the order's customer as ``customer``;
        a future marketplace vendor speaks as ``vendor:<id>``.
        """
        return f"vendor:{self.id}" if self.role == "vendor" else self.role


class Customer(ContractModel):
    """The customer who owns an order."""

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(max_length=200)
    email: EmailStr


def _type_and_version_required(schema: dict[str, Any]) -> None:
    """The codec refuses an event without ``event_type`` and ``schema_version``: its JSON Schema says so too."""
    required = schema.setdefault("required", [])
    required[:0] = [name for name in ("event_type", "schema_version") if name not in required]


class IntegrationEvent(ContractModel):
    """Fields shared by every published event, whatever its topic."""

    model_config = ConfigDict(json_schema_extra=_type_and_version_required)

    event_id: UUID = Field(description="Stable id: the same stored event always carries the same id.")
    event_type: str
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    correlation_id: str | None = Field(default=None, max_length=200)


class ThreadEvent(IntegrationEvent):
    """An event of one order's conversation thread, as stored by the messaging service."""

    order_id: str = Field(min_length=1, max_length=200)
    thread_id: UUID
    thread_version: int = Field(ge=1, description="Version of the thread after this event; 1 is its start.")
    position: int = Field(ge=1, description="Global position of the event in the event store.")
    actor: Actor
