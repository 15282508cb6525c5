"""Fixtures of the projection integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.projections.harness import RunningService, serve

from ordertalk_runtime.kafka import KafkaSettings


@pytest.fixture(scope="module")
def service(kafka_settings: KafkaSettings, mongo_url: str, server_logs: Path) -> Iterator[RunningService]:
    """One projections process (API + workers) per test module, with its own database and group."""
    with serve(kafka_settings, mongo_url, server_logs) as running:
        yield running
