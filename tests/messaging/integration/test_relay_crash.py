"""SIGKILL the standalone relay while a writer appends: after a restart every event is out, in order."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from uuid import uuid4

from tests.messaging.conftest import read_topic, service_env

from ordertalk_contracts import THREAD_EVENTS, parse_thread_event
from ordertalk_devstack.processes import ManagedProcess, python_argv
from ordertalk_messaging.adapters.relay import RELAY_NAME
from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.services import NewOrder, ThreadService
from ordertalk_messaging.bootstrap import open_store, tables_for
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.settings import Settings
from ordertalk_runtime.kafka import KafkaSettings

ADMIN = Caller(Participant("admin", "admin-1", "Admin Admin"))


async def published_for(kafka: KafkaSettings, order_ids: set[str]) -> list[tuple[bytes | None, bytes]]:
    records = await read_topic(kafka, THREAD_EVENTS)
    return [(k, v) for k, v, _ in records if k is not None and k.decode() in order_ids]


async def test_relay_killed_mid_stream_resumes_without_loss_or_reordering(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    store_path = tmp_path / "es.sqlite"
    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=store_path)
    store = open_store(settings)
    tables = tables_for(store, settings)
    service = ThreadService(store, tables)
    prefix = uuid.uuid4().hex[:6]
    order_ids = [f"crash-{prefix}-{i}" for i in range(4)]
    for oid in order_ids:
        service.register_order(NewOrder(oid, f"#{oid[-5:]}", "customer-1", "Jane", "jane@example.com"), None)
    posted = [0]
    stop_writing, done = threading.Event(), threading.Event()

    def write() -> None:
        # Writes until told to stop, so the relay is always killed while events keep coming.
        while not stop_writing.is_set() and posted[0] < 20_000:
            i = posted[0]
            service.post_message(order_ids[i % len(order_ids)], ADMIN, uuid4(), f"m{i}", None)
            posted[0] = i + 1
            time.sleep(0.003)  # a steady trickle, not a condition: the relay sees a live stream
        done.set()

    env = service_env(kafka_settings, store_path, RELAY_POLL_SECONDS="0.02", RELAY_BATCH_SIZE="20")
    argv = python_argv("-m", "ordertalk_messaging", "relay")

    def relay_process(n: int) -> ManagedProcess:
        return ManagedProcess(f"relay-{n}", argv, tmp_path / f"relay-{n}.log", env=env)

    wanted = set(order_ids)
    first = relay_process(1).start(lambda: True)
    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(600):  # wait until the relay is mid-stream
            if len(await published_for(kafka_settings, wanted)) >= 60:
                break
            await asyncio.sleep(0.05)
        assert not done.is_set(), "writer finished before the relay was killed; the test proves nothing"
        first.kill()
        killed_at, posted_at_kill = tables.get(RELAY_NAME) or 0, posted[0]
        second = relay_process(2).start(lambda: True)
        try:
            for _ in range(1200):  # keep writing while the second relay starts and catches up
                if posted[0] >= posted_at_kill + 100:
                    break
                await asyncio.sleep(0.05)
            stop_writing.set()
            writer.join(60)
            assert done.is_set()
            last = service.last_position()
            for _ in range(600):
                if (tables.get(RELAY_NAME) or 0) >= last:
                    break
                await asyncio.sleep(0.05)
            assert tables.get(RELAY_NAME) == last
        finally:
            second.stop()
    finally:
        first.kill()  # no-op once killed; ends it if the test failed before the kill
        stop_writing.set()
        writer.join(60)
        store.close()
    assert 0 < killed_at < last

    records = await published_for(kafka_settings, wanted)
    first_seen: dict[str, bytes] = {}
    versions: dict[str, list[int]] = {}
    for key, value in records:
        event = parse_thread_event(value)
        assert key == event.order_id.encode()
        event_id = str(event.event_id)
        if event_id in first_seen:
            assert first_seen[event_id] == value  # a duplicate is an exact redelivery
            continue
        first_seen[event_id] = value
        versions.setdefault(event.order_id, []).append(event.thread_version)
    total_posts = posted[0]
    assert len(first_seen) == len(order_ids) + total_posts  # nothing lost
    for n, oid in enumerate(order_ids):
        per_order = len(range(n, total_posts, len(order_ids)))
        assert versions[oid] == list(range(1, per_order + 2))  # in order
