"""The rebuild's Kafka reads go through the one retry policy: a broker that times out once is asked again."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError

from ordertalk_projections.adapters.kafka_source import KafkaLogReader

PARTS = [TopicPartition("t", 0), TopicPartition("t", 1)]


class TimesOutOnce:
    """An aiokafka consumer's ``end_offsets`` that times out on the first call."""

    def __init__(self) -> None:
        self.calls = 0

    async def end_offsets(self, parts: list[TopicPartition]) -> dict[TopicPartition, int]:
        """10 per partition, after one timeout."""
        self.calls += 1
        if self.calls == 1:
            raise KafkaTimeoutError("the broker did not answer")
        return dict.fromkeys(parts, 10)


async def test_a_timed_out_end_offsets_request_is_asked_again_and_the_target_set() -> None:
    consumer = TimesOutOnce()
    reader = KafkaLogReader(consumer, PARTS, dict.fromkeys(PARTS, 2), {})
    assert await reader.set_target() == 16
    assert consumer.calls == 2
