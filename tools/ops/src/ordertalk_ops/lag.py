"""Consumer lag per group and partition: committed offset against the partition's end."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from ordertalk_runtime.kafka import KafkaSettings


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


async def _committed(
    settings: KafkaSettings, group: str, tps: list[TopicPartition]
) -> dict[TopicPartition, int | None]:
    """Committed offsets of ``group`` (asked through the group coordinator, as a member would)."""
    member = AIOKafkaConsumer(**settings.client_kwargs(), group_id=group, enable_auto_commit=False)
    await member.start()
    try:
        return {tp: await member.committed(tp) for tp in tps}
    finally:
        await member.stop()


async def consumer_lag(settings: KafkaSettings, groups: list[str], topics: list[str]) -> list[PartitionLag]:
    """Lag of each named consumer group on every partition of ``topics``."""
    probe = AIOKafkaConsumer(**settings.client_kwargs(), enable_auto_commit=False)
    await probe.start()
    try:
        await probe.topics()
        tps = [TopicPartition(t, p) for t in topics for p in sorted(probe.partitions_for_topic(t) or ())]
        ends = await probe.end_offsets(tps) if tps else {}
    finally:
        await probe.stop()
    rows: list[PartitionLag] = []
    for group in groups:
        rows.extend(lag_rows(group, await _committed(settings, group, tps), ends))
    return rows
