"""The messaging integration tests' own broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.kafka import kafka_broker

from ordertalk_runtime.kafka import KafkaSettings


@pytest.fixture(scope="session")
def kafka_settings(server_logs: Path) -> Iterator[KafkaSettings]:
    """A broker of this suite's own: no other suite's running service consumes what these tests publish."""
    with kafka_broker(server_logs) as settings:
        yield settings
