"""The rebuild's Kafka source reads through the runtime's broker and refuses topics that are not as configured."""

from __future__ import annotations

import asyncio
import io
import uuid

import pytest

from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_projections.adapters.kafka_source import KafkaEventLog
from ordertalk_projections.application.rebuild import RebuildConflict, Rebuilder
from ordertalk_projections.bootstrap import resources
from ordertalk_projections.settings import Settings
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics


def test_a_rebuild_from_kafka_refuses_topics_with_another_partition_count(
    kafka_settings: KafkaSettings, mongo_url: str
) -> None:
    asyncio.run(ensure_topics(kafka_settings, list(ALL_TOPICS)))
    wrong = kafka_settings.model_copy(update={"topic_partitions": kafka_settings.topic_partitions + 2})
    settings = Settings(mongo_url=mongo_url, mongo_db=f"rebuild_{uuid.uuid4().hex[:8]}", kafka=wrong)

    async def go() -> None:
        async with resources(settings) as res:
            await Rebuilder(res.store, KafkaEventLog(settings.kafka), None, out=io.StringIO()).run("kafka")

    with pytest.raises(RebuildConflict, match="partitions, configured"):
        asyncio.run(go())
