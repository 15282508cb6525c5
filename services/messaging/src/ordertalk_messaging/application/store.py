"""The eventsourcing application holding the order threads (the event store the use cases save to)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.persistence import JSONTranscoder, Recording, StoredEvent
from eventsourcing.utils import EnvType, strtobool

from ordertalk_messaging.application.ports import SNAPSHOTS
from ordertalk_messaging.domain.participant import ParticipantAsDict
from ordertalk_messaging.domain.thread import OrderThread

SNAPSHOT_INTERVAL = "SNAPSHOT_INTERVAL"
"""The environment key of the snapshot interval: a thread is snapshotted every that many events (0: never)."""


def project_events(aggregate: Any, events: Iterable[Any]) -> Any:
    """``project_aggregate`` without its ``isinstance`` check against a runtime-checkable Protocol per event.

    Python 3.11 answers that check by walking the protocol's attributes: about 15 µs an event, which
    was a third of replaying a thread and 1.5 ms of a cold load of 100 events after a snapshot. Every
    stored event and snapshot of this store has ``mutate``.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class ThreadRepository(Repository[UUID]):
    """The library's repository, projecting with ``project_events`` unless told otherwise."""

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        """``Repository.get`` (from the cache, or the latest snapshot and the events after it)."""
        kwargs.setdefault("projector_func", project_events)
        return super().get(aggregate_id, **kwargs)


class MessagingStore(Application[UUID]):
    """The eventsourcing application holding every OrderThread.

    With SNAPSHOT_INTERVAL > 0 (and IS_SNAPSHOTTING_ENABLED, which ``Settings.eventsourcing_env`` sets
    with it), a save that brings a thread SNAPSHOT_INTERVAL or more events past its latest snapshot
    also stores ``OrderThread.Snapshot.take(thread)`` in the library's snapshots table, in the same
    commit as the events (the project's recorders take them as ``snapshots=``), and the repository
    loads a thread from its latest snapshot and the events after it. Snapshots are taken from the
    thread in memory: the library's ``snapshotting_intervals`` would read the thread back from the
    store and write each snapshot in a commit of its own, on the writer thread. The notification log
    (what the relay publishes) holds only the events table: snapshots never appear in it.
    """

    name = "Messaging"

    def __init__(self, env: EnvType | None = None) -> None:
        """The application on ``env``; snapshots every SNAPSHOT_INTERVAL events when a snapshot store exists."""
        super().__init__(env)
        interval = int(self.env.get(SNAPSHOT_INTERVAL) or 0)
        self.snapshot_interval = interval if self.snapshots is not None and interval > 0 else 0
        self._snapshots_in_commit = False
        if self.snapshot_interval and self.snapshots is not None:
            table: str = getattr(self.snapshots.recorder, "events_table_name", "")
            if table and hasattr(self.recorder, "snapshots_table"):
                self.recorder.snapshots_table = table
                self._snapshots_in_commit = True

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository (same settings), loading threads with ``project_events``."""
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return ThreadRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(maxsize) if maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Also store Participants."""
        super().register_transcodings(transcoder)
        transcoder.register(ParticipantAsDict())

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """``Application.save``, taking OrderThreads' events without typing's runtime-protocol checks.

        The library tells aggregates from events with ``isinstance`` against runtime-checkable
        Protocols, which Python 3.11 answers by walking the protocols' attributes: two such checks
        per thread cost more than deciding a post. A thread is known to be an aggregate. Threads due
        for a snapshot are snapshotted in the same commit.
        """
        if not all(type(obj) is OrderThread for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        due: list[OrderThread] = []
        for thread in objs:
            events = thread.collect_events()
            processing_event.events.extend(events)
            processing_event.aggregates[thread.id] = thread
            if events and self.snapshot_interval and thread.version - thread.snapshot_version >= self.snapshot_interval:
                due.append(thread)
        snapshots = [OrderThread.Snapshot.take(thread) for thread in due]
        if snapshots and self._snapshots_in_commit:
            stored: Sequence[StoredEvent] = [self.mapper.to_stored_event(s) for s in snapshots]
            processing_event.saved_kwargs[SNAPSHOTS] = stored
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        if snapshots and not self._snapshots_in_commit and self.snapshots is not None:
            self.snapshots.put(snapshots)  # a recorder that cannot write them in the events' commit
        for thread in due:
            thread.snapshot_version = thread.version
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings
