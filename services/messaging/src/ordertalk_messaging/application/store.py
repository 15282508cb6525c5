"""The eventsourcing application holding the order threads (the event store the use cases save to)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import JSONTranscoder, Recording

from ordertalk_messaging.domain.participant import ParticipantAsDict
from ordertalk_messaging.domain.thread import OrderThread


class MessagingStore(Application[UUID]):
    """The eventsourcing application holding every OrderThread."""

    name = "Messaging"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Also store Participants."""
        super().register_transcodings(transcoder)
        transcoder.register(ParticipantAsDict())

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """``Application.save``, taking OrderThreads' events without typing's runtime-protocol checks.

        The library tells aggregates from events with ``isinstance`` against runtime-checkable
        Protocols, which Python 3.11 answers by walking the protocols' attributes: two such checks
        per thread cost more than deciding a post. A thread is known to be an aggregate.
        """
        if not all(type(obj) is OrderThread for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for thread in objs:
            processing_event.events.extend(thread.collect_events())
            processing_event.aggregates[thread.id] = thread
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings
