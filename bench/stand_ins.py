"""The stand-in servers a read-side benchmark starts for itself (broker, MongoDB-wire server), stopped together."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_devstack.processes import ManagedProcess, free_port
from ordertalk_devstack.servers import start_kafka, start_mongo
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics


@dataclass
class StandIns:
    """Where the servers run, how to reach them, and every process to stop at the end (more may be added)."""

    var: Path
    kafka: KafkaSettings
    mongo_url: str
    procs: list[ManagedProcess] = field(default_factory=list)


@contextmanager
def stand_ins(prefix: str) -> Iterator[StandIns]:
    """Start the broker (with the system's topics) and the MongoDB-wire server in a new temporary folder."""
    var = Path(tempfile.mkdtemp(prefix=prefix))
    kport, mport = free_port(), free_port()
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{kport}", enable_idempotence=False, topic_partitions=3)
    servers = StandIns(var, kafka, f"mongodb://127.0.0.1:{mport}")
    try:
        servers.procs.append(start_kafka(kport, var))
        servers.procs.append(start_mongo(mport, None, var))
        asyncio.run(ensure_topics(kafka, list(ALL_TOPICS)))
        yield servers
    finally:
        for proc in reversed(servers.procs):
            proc.stop()
