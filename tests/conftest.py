"""Real servers for the test suite: configured ones, testcontainers, or the local stand-ins."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordertalk_devstack.databases import throwaway_database
from ordertalk_devstack.processes import free_port
from ordertalk_devstack.servers import start_mailcatcher
from ordertalk_runtime.kafka import KafkaSettings
from tests.support.containers import use_containers
from tests.support.kafka import kafka_broker
from tests.support.mail import MailCatcher
from tests.support.mongo import start_test_mongo
from tests.support.postgres import PostgresParams


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the servers started by the tests write their logs."""
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def kafka_settings(server_logs: Path) -> Iterator[KafkaSettings]:
    """A real Kafka-protocol broker (see tests.support.kafka).

    The suites whose services consume shared topics (messaging, projections, notifier) each
    override this with a broker of their own, so one suite's running service never consumes
    another suite's orders and events.
    """
    with kafka_broker(server_logs) as settings:
        yield settings


@pytest.fixture(scope="session")
def mongo_url(server_logs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MongoDB-wire server: MONGO_URL, a container, or one started here — nx-27017 in memory, or
    SecantusDB with ``TEST_MONGO_SERVER=secantusdb`` (``make test-fidelity``)."""
    if "MONGO_URL" in os.environ:
        yield os.environ["MONGO_URL"]
        return
    if use_containers():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7") as mongo:
            yield mongo.get_connection_url()
        return
    port = free_port()
    proc = start_test_mongo(port, tmp_path_factory.mktemp("mongo-data"), server_logs)
    try:
        yield f"mongodb://127.0.0.1:{port}"
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresParams]:
    """A real PostgreSQL server: POSTGRES_* settings, a container, or the machine's own."""
    if "POSTGRES_HOST" not in os.environ and use_containers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16") as pg:
            yield PostgresParams(
                host=pg.get_container_host_ip(),
                port=int(pg.get_exposed_port(5432)),
                user=pg.username,
                password=pg.password,
                dbname=pg.dbname,
            )
        return
    yield PostgresParams.from_env()


@pytest.fixture
def postgres_db(postgres_server: PostgresParams) -> Iterator[PostgresParams]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with throwaway_database(postgres_server.conninfo(), "ordertalk_test") as name:
        yield postgres_server.with_db(name)


@pytest.fixture
def mail_catcher(tmp_path: Path, server_logs: Path) -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd in its own process) that keeps what it receives."""
    port = free_port()
    maildir = tmp_path / "mail"
    proc = start_mailcatcher(port, maildir, server_logs)
    catcher = MailCatcher("127.0.0.1", port, maildir, proc)
    try:
        yield catcher
    finally:
        catcher.process.stop()
