"""Forged thread events: schema-valid, but for a thread the event store never started."""

from __future__ import annotations

import uuid
from datetime import datetime

from ordertalk_contracts import Actor, MessagePostedV1


def unstarted_message(order_id: str, position: int, actor: Actor, occurred_at: datetime) -> MessagePostedV1:
    """A MessagePosted at version 1 of a new thread of ``order_id`` (no ThreadStarted before it) at ``position``."""
    return MessagePostedV1(
        event_id=uuid.uuid4(),
        occurred_at=occurred_at,
        order_id=order_id,
        thread_id=uuid.uuid4(),
        thread_version=1,
        position=position,
        actor=actor,
        message_id=uuid.uuid4(),
        seq=1,
        body="ghost",
    )
