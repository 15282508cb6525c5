"""Request and response bodies of the messaging API (requests refuse unknown fields)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ordertalk_messaging.domain.errors import InvalidText
from ordertalk_messaging.domain.text import MAX_BODY_CHARS, MAX_REASON_CHARS, clean_text

# Text the domain accepts (domain/text.py): no control characters but tab, line feed and CR LF, and at
# least one character that is not white space. With the length capped as the domain caps the trimmed
# text, a request the schema accepts is never refused for its text; the validators refuse what it refuses
# (in the domain's words).
_TEXT_CHAR = r"(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)"
TEXT_PATTERN = rf"^{_TEXT_CHAR}*[^\s\x00-\x1f\x7f-\x9f]{_TEXT_CHAR}*$"
_TEXT = re.compile(TEXT_PATTERN)


def _checked(what: str, max_chars: int) -> AfterValidator:
    def check(value: str) -> str:
        try:
            clean_text(value, what=what, max_chars=max_chars)
        except InvalidText as exc:
            raise ValueError(exc.detail) from None
        if not _TEXT.match(value):
            raise ValueError(f"{what} may hold no control characters but tabs and line breaks")
        return value

    return AfterValidator(check)


class Request(BaseModel):
    """Base of request bodies: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid")


class PostMessageIn(Request):
    """A new message."""

    body: Annotated[str, _checked("message body", MAX_BODY_CHARS)] = Field(
        max_length=MAX_BODY_CHARS,
        json_schema_extra={"pattern": TEXT_PATTERN},
        description="Plain text of at most 5000 characters, not only white space; no control characters "
        "but tabs and line breaks. Stored trimmed.",
    )
    message_id: UUID | None = Field(default=None, description="Client-chosen id; a repeated id posts nothing new.")


class OpenDisputeIn(Request):
    """Why the dispute is opened."""

    reason: Annotated[str, _checked("dispute reason", MAX_REASON_CHARS)] = Field(
        max_length=MAX_REASON_CHARS,
        json_schema_extra={"pattern": TEXT_PATTERN},
        description="At most 1000 characters, not only white space; no control characters but tabs and "
        "line breaks. Stored trimmed.",
    )


class EmptyIn(Request):
    """No fields."""


def _selection_schema(schema: dict[str, Any]) -> None:
    """Exactly one of: a non-empty ``order_ids`` (``all`` absent or false), or ``all: true`` (no ids)."""
    schema["oneOf"] = [
        {
            "required": ["order_ids"],
            "properties": {"order_ids": {"type": "array", "minItems": 1}, "all": {"const": False}},
        },
        {"required": ["all"], "properties": {"all": {"const": True}, "order_ids": {"type": "null"}}},
    ]


class SelectionIn(Request):
    """Threads to act on: the listed orders, or every thread the caller may see."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_selection_schema)

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
