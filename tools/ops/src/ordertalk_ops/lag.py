"""Consumer lag per group and partition: committed offset against the partition's end."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import TopicPartition

from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.offsets import committed_offsets, end_offsets, partitions_of


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """How far one consumer group is behind on one partition."""

    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        """Messages not yet consumed (all of them if nothing was committed).

        Never below zero: some brokers (the local stand-in) report an end one below a committed offset.
        """
        return max(0, self.end - (self.committed or 0))


def lag_rows(
    group: str, committed: dict[TopicPartition, int | None], ends: dict[TopicPartition, int]
) -> list[PartitionLag]:
    """Pure: combine committed and end offsets into rows, sorted by topic and partition.

    Only the topics the group consumes count: those on which it has committed an offset. A topic the group
    never reads (its partitions all uncommitted) would otherwise add that topic's whole length as lag.
    """
    consumed = {tp.topic for tp, offset in committed.items() if offset is not None}
    rows = [
        PartitionLag(group, tp.topic, tp.partition, committed.get(tp), end)
        for tp, end in ends.items()
        if tp.topic in consumed
    ]
    return sorted(rows, key=lambda r: (r.topic, r.partition))


async def consumer_lag(settings: KafkaSettings, groups: list[str], topics: list[str]) -> list[PartitionLag]:
    """Lag of each named consumer group on every partition of ``topics``."""
    tps = await partitions_of(settings, topics)
    ends = await end_offsets(settings, tps)
    rows: list[PartitionLag] = []
    for group in groups:
        rows.extend(lag_rows(group, await committed_offsets(settings, group, tps), ends))
    return rows
