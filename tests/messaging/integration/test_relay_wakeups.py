"""A relay in its own process publishes another process's save at once, not at its poll, on either store.

PostgreSQL NOTIFYs the relay of every insert; on SQLite the saving process (a serve process with
RELAY_ENABLED=false) signals the relay over a local datagram socket named after the database file.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from uuid import uuid4

import pytest
from tests.messaging.conftest import postgres_settings, read_topic, service_env
from tests.support.polling import wait_for
from tests.support.postgres import PostgresParams

from ordertalk_contracts import MessagePostedV1, parse_thread_event
from ordertalk_contracts.topics import THREAD_EVENTS
from ordertalk_devstack.processes import ManagedProcess, python_argv
from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.services import NewOrder
from ordertalk_messaging.bootstrap import build
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.settings import Settings
from ordertalk_runtime.kafka import KafkaSettings

ADMIN = Caller(Participant("admin", "admin-1", "Admin Admin"))
POLL_SECONDS = 60.0  # the relay's fallback poll: far longer than the test waits


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
async def test_relay_in_another_process_is_woken_by_a_save(
    store: str, kafka_settings: KafkaSettings, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = service_env(kafka_settings, tmp_path / "es.sqlite", RELAY_POLL_SECONDS=str(POLL_SECONDS))
    if store == "postgres":
        postgres_db: PostgresParams = request.getfixturevalue("postgres_db")
        settings = postgres_settings(postgres_db).model_copy(update={"relay_enabled": False})
        env |= {"EVENT_STORE": "postgres", **postgres_db.env()}
    else:
        settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite", RELAY_ENABLED=False)
    saver = build(settings)  # as a serve process without the relay: creates the tables before the relay starts
    log_path = tmp_path / "relay.log"
    relay = ManagedProcess("relay", python_argv("-m", "ordertalk_messaging", "relay"), log_path, env=env)
    relay.start(lambda: log_path.exists() and "relay woken by" in log_path.read_text(), timeout=60)
    try:
        order_id = f"wake-{uuid.uuid4().hex[:8]}"
        message_id = uuid4()
        saver.service.register_order(NewOrder(order_id, "#00077", "customer-1", "Jane", "jane@example.com"), None)
        saver.service.post_message(order_id, ADMIN, message_id, "hello from another process", None)

        async def published() -> bool:
            records = await read_topic(kafka_settings, THREAD_EVENTS)
            events = [parse_thread_event(v) for k, v, _ in records if k == order_id.encode()]
            return any(isinstance(e, MessagePostedV1) and e.message_id == message_id for e in events)

        loop = asyncio.get_running_loop()
        within = POLL_SECONDS / 4  # so only a wake-up by the save, not the relay's poll, can publish it in time
        await loop.run_in_executor(
            None, lambda: wait_for(lambda: asyncio.run(published()), timeout=within, what="publish")
        )
    finally:
        relay.stop()
        saver.close()
