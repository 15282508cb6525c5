"""A consumer process for the restart test: the project's consumer runtime on one topic, recording each offset.

Run as ``python restart_member.py TOPIC GROUP OUT``; Kafka settings come from the ``KAFKA_*`` environment. Each
consumed record appends ``{"t": <wall clock>, "p": <partition>, "o": <offset>}`` to the file OUT; the process
writes ``{"joining": <wall clock>}`` there once its imports are done and it starts its consumer (so a test can
tell the group's delay from the interpreter's start-up), and ``{"started": ...}`` once its broker has started.
It runs until it is killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ordertalk_contracts import IntegrationEvent, parse
from ordertalk_runtime.consumer import Consumer, ConsumerConfig, Record
from ordertalk_runtime.kafka import KafkaSettings


class Recording:
    """Records the partition and offset of every record as it is consumed; writes nothing else."""

    def __init__(self, out: IO[str]) -> None:
        """Append to ``out``."""
        self.out = out

    def decode(self, record: Record) -> IntegrationEvent:
        """Note the record's place, then parse it."""
        self.out.write(json.dumps({"t": time.time(), "p": record.partition, "o": record.offset}) + "\n")
        self.out.flush()
        return parse(record.value)

    async def handle(self, events: Sequence[IntegrationEvent]) -> None:
        """Nothing to stage: the offsets were recorded as the records were decoded."""

    async def flush(self, staged: Sequence[None]) -> None:
        """Nothing to write."""

    def reset(self) -> None:
        """Nothing cached."""


async def main(topic: str, group: str, out_path: Path) -> None:
    """Consume ``topic`` as ``group`` until killed."""
    with out_path.open("a") as out:
        out.write(json.dumps({"joining": time.time()}) + "\n")
        out.flush()
        consumer = Consumer(
            ConsumerConfig(name="restart-test", group_id=group, topics=(topic,)),
            KafkaSettings(),
            Recording(out),
            (OSError,),
        )
        task = asyncio.create_task(consumer.run(asyncio.Event()))
        await consumer.started.wait()
        out.write(json.dumps({"started": time.time()}) + "\n")
        out.flush()
        await task


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
