"""A notifier process and an SMTP catcher shared by the notifier's integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.notifier.harness import NotifierProcess
from tests.support.kafka import kafka_broker
from tests.support.mail import MailCatcher

from ordertalk_devstack.processes import free_port
from ordertalk_devstack.servers import start_mailcatcher
from ordertalk_runtime.kafka import KafkaSettings


@pytest.fixture(scope="session")
def module_catcher(tmp_path_factory: pytest.TempPathFactory, server_logs: Path) -> Iterator[MailCatcher]:
    """A real SMTP catcher process for the whole session."""
    port = free_port()
    maildir = tmp_path_factory.mktemp("notifier-mail")
    proc = start_mailcatcher(port, maildir, server_logs)
    try:
        yield MailCatcher("127.0.0.1", port, maildir, proc)
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def notifier(
    kafka_settings: KafkaSettings, mongo_url: str, module_catcher: MailCatcher, server_logs: Path
) -> Iterator[NotifierProcess]:
    """``python -m ordertalk_notifier serve`` against the real broker, MongoDB-wire server and catcher."""
    proc = NotifierProcess(kafka_settings, mongo_url, module_catcher.port, server_logs).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def kafka_settings(server_logs: Path) -> Iterator[KafkaSettings]:
    """A broker of this suite's own: no other suite's running service consumes what these tests publish."""
    with kafka_broker(server_logs) as settings:
        yield settings
