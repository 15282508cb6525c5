"""A relay in its own process, on PostgreSQL, publishes another process's save at once (LISTEN/NOTIFY), not polling."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from uuid import uuid4

from tests.messaging.conftest import postgres_settings, read_topic, service_env
from tests.support.polling import wait_for
from tests.support.postgres import PostgresParams

from ordertalk_contracts import MessagePostedV1, parse_thread_event
from ordertalk_contracts.topics import THREAD_EVENTS
from ordertalk_devstack.processes import ManagedProcess, python_argv
from ordertalk_messaging.application import Caller, NewOrder, ThreadService
from ordertalk_messaging.bootstrap import open_store, tables_for
from ordertalk_messaging.domain.participant import Participant
from ordertalk_runtime.kafka import KafkaSettings

ADMIN = Caller(Participant("admin", "admin-1", "Admin Admin"))
POLL_SECONDS = 60.0  # the relay's fallback poll: far longer than the test waits


async def test_relay_in_another_process_is_woken_by_postgres_notify(
    kafka_settings: KafkaSettings, postgres_db: PostgresParams, tmp_path: Path
) -> None:
    settings = postgres_settings(postgres_db)
    store = open_store(settings)  # creates the tables before the relay starts
    service = ThreadService(store, tables_for(store, settings))
    env = service_env(kafka_settings, tmp_path / "unused.sqlite", RELAY_POLL_SECONDS=str(POLL_SECONDS))
    env |= {"EVENT_STORE": "postgres", **postgres_db.env()}
    log_path = tmp_path / "relay.log"
    relay = ManagedProcess("relay", python_argv("-m", "ordertalk_messaging", "relay"), log_path, env=env)
    relay.start(lambda: log_path.exists() and "relay starts after position" in log_path.read_text(), timeout=60)
    try:
        order_id = f"wake-{uuid.uuid4().hex[:8]}"
        message_id = uuid4()
        service.register_order(NewOrder(order_id, "#00077", "customer-1", "Jane", "jane@example.com"), None)
        service.post_message(order_id, ADMIN, message_id, "hello from another process", None)

        async def published() -> bool:
            records = await read_topic(kafka_settings, THREAD_EVENTS)
            events = [parse_thread_event(v) for k, v, _ in records if k == order_id.encode()]
            return any(isinstance(e, MessagePostedV1) and e.message_id == message_id for e in events)

        loop = asyncio.get_running_loop()
        within = POLL_SECONDS / 4  # so only a wake-up by the insert, not the relay's poll, can publish it in time
        await loop.run_in_executor(
            None, lambda: wait_for(lambda: asyncio.run(published()), timeout=within, what="publish")
        )
    finally:
        relay.stop()
        service.close()
        store.close()
