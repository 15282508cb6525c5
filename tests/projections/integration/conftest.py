"""Fixtures of the projection integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.projections.harness import RunningService, serve
from tests.support.kafka import kafka_broker

from ordertalk_runtime.kafka import KafkaSettings


@pytest.fixture(scope="module")
def service(kafka_settings: KafkaSettings, mongo_url: str, server_logs: Path) -> Iterator[RunningService]:
    """One projections process (API + workers) per test module, with its own database and group."""
    with serve(kafka_settings, mongo_url, server_logs) as running:
        yield running


@pytest.fixture(scope="session")
def kafka_settings(server_logs: Path) -> Iterator[KafkaSettings]:
    """A broker of this suite's own: no other suite's running service consumes what these tests publish."""
    with kafka_broker(server_logs) as settings:
        yield settings
