"""Request and response bodies of the messaging API (requests refuse unknown fields)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

RAW_TEXT_LIMIT = 20_000  # a generous transport limit; the domain enforces the real one


class Request(BaseModel):
    """Base of request bodies: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid")


class PostMessageIn(Request):
    """A new message."""

    body: str = Field(max_length=RAW_TEXT_LIMIT, description="Plain text, 1–5000 characters after trimming.")
    message_id: UUID | None = Field(default=None, description="Client-chosen id; a repeated id posts nothing new.")


class OpenDisputeIn(Request):
    """Why the dispute is opened."""

    reason: str = Field(max_length=RAW_TEXT_LIMIT, description="1–1000 characters after trimming.")


class EmptyIn(Request):
    """No fields."""


class SelectionIn(Request):
    """Threads to act on: the listed orders, or every thread the caller may see."""

    order_ids: list[str] | None = Field(default=None, max_length=1000)
    all: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> SelectionIn:
        if self.all == (self.order_ids is not None):
            raise ValueError('give either "order_ids" or "all": true')
        if self.order_ids is not None and not self.order_ids:
            raise ValueError("order_ids must not be empty")
        return self


class WriteResult(BaseModel):
    """Where a write left the thread."""

    order_id: str
    thread_id: UUID
    thread_version: int
    position: int


class MessageWriteResult(WriteResult):
    """A posted message."""

    message_id: UUID
    seq: int


class DisputeWriteResult(WriteResult):
    """An opened or closed dispute."""

    dispute_no: int


class ReadWriteResult(WriteResult):
    """A moved (or unchanged) read position."""

    read_up_to: int


class BulkWriteResult(BaseModel):
    """Results of a read/unread on several threads."""

    results: list[ReadWriteResult]
    position: int


class HistoryOut(BaseModel):
    """A thread's events, oldest first, in the contract's JSON shape."""

    events: list[dict[str, Any]]


class EventsOut(BaseModel):
    """A page of the global event feed, in store order."""

    events: list[dict[str, Any]]
    last_position: int
