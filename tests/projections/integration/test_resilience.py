"""Crash, gaps, poison and rebuild against the real broker and MongoDB-wire server."""

from __future__ import annotations

import asyncio
import io
import random
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pymongo
from aiokafka import AIOKafkaConsumer
from pymongo.collection import Collection
from pymongo.database import Database
from tests.projections.harness import RunningService, publish, service_env
from tests.projections.scripts import ADMIN, Positions, ThreadScript
from tests.support.polling import wait_for

from ordertalk_contracts import DEAD_LETTERS, THREAD_EVENTS, ThreadEvent
from ordertalk_devstack.processes import ManagedProcess, python_argv
from ordertalk_projections.adapters.feed import InMemoryEventFeed
from ordertalk_projections.adapters.kafka_source import KafkaEventLog
from ordertalk_projections.application.applier import BatchApplier
from ordertalk_projections.application.healer import GapHealer
from ordertalk_projections.application.rebuild import Rebuilder, RebuildStopped
from ordertalk_projections.bootstrap import resources
from ordertalk_projections.domain.documents import thread_document
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.projector import fold
from ordertalk_projections.settings import Settings
from ordertalk_runtime.kafka import KafkaSettings

Db = Database[dict[str, Any]]
Coll = Collection[dict[str, Any]]


def interleaved(threads: int, per_thread: int, positions: Positions) -> tuple[list[ThreadScript], list[ThreadEvent]]:
    """Threads written concurrently: events of different threads interleave, each thread in order."""
    scripts = [ThreadScript.new(positions) for _ in range(threads)]
    events: list[ThreadEvent] = []
    rng = random.Random(7)
    disputed: set[str] = set()
    for s in scripts:
        events.append(s.start())
    for _ in range(per_thread):
        for s in rng.sample(scripts, len(scripts)):
            kind = rng.random()
            if kind < 0.6:
                events.append(s.post(f"message {rng.randint(0, 10**6)}", rng.choice([ADMIN, s.customer_actor])))
            elif kind < 0.8:
                events.append(s.read(rng.choice(["admin", "customer"])))
            elif s.order_id not in disputed:
                events.append(s.open_dispute("why not"))
                disputed.add(s.order_id)
            else:
                events.append(s.close_dispute())
                disputed.discard(s.order_id)
    return scripts, events


def expected_doc(script: ThreadScript) -> dict[str, object]:
    outcome = fold(None, list(script.events))
    assert outcome.projection is not None
    return thread_document(outcome.projection)


def stored(db: Db, gen: int, order_id: str) -> dict[str, Any] | None:
    doc = db[Generation(gen).threads].find_one({"_id": order_id})
    if doc is not None:
        doc.pop("_id")
    return doc


def caught_up(db: Db, gen: int, script: ThreadScript) -> bool:
    return (stored(db, gen, script.order_id) or {}).get("version") == len(script.events)


def test_sigkill_mid_stream_then_restart_equals_the_fold(
    kafka_settings: KafkaSettings, mongo_url: str, server_logs: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    db_name = f"crash_{suffix}"
    env = service_env(kafka_settings, mongo_url, db_name, f"crash-{suffix}", PROJECTIONS_BATCH="20")
    db: Db = pymongo.MongoClient(mongo_url)[db_name]

    def worker() -> ManagedProcess:
        proc = ManagedProcess(
            "worker", python_argv("-m", "ordertalk_projections", "worker"), server_logs / "w.log", env
        )
        return proc.start(lambda: True)

    scripts, events = interleaved(25, 16, Positions())
    proc = worker()
    try:
        publish(kafka_settings, events)
        wait_for(lambda: db.threads_v1.count_documents({}) >= 5, timeout=30, what="some progress")
        proc.kill()
        assert sum(int(str(d["version"])) for d in db.threads_v1.find()) < len(events)  # it was mid-stream
        proc = worker()
        for s in scripts:
            wait_for(partial(caught_up, db, 1, s), timeout=40, what=s.order_id)
            assert stored(db, 1, s.order_id) == expected_doc(s)
            posted = [e for e in s.events if e.event_type == "MessagePosted"]
            assert db.messages_v1.count_documents({"order_id": s.order_id}) == len(posted)
    finally:
        proc.stop()


def test_gap_is_parked_then_healed_by_the_missing_event(service: RunningService, kafka_settings: KafkaSettings) -> None:
    s = ThreadScript.new(Positions(10**9))
    e1, e2, e3, e4, e5 = s.start(), s.post("one"), s.post("two"), s.post("three"), s.read("admin")
    publish(kafka_settings, [e1, e2, e4, e5])
    wait_for(lambda: service.get(f"/v1/threads/{s.order_id}").json().get("version") == 2, what="first two")
    parked: Coll = pymongo.MongoClient(mongo_of(service))[service.db].parked_v1
    wait_for(lambda: parked.count_documents({"order_id": s.order_id}) == 2, what="parked")
    publish(kafka_settings, [e3])
    wait_for(lambda: service.get(f"/v1/threads/{s.order_id}").json().get("version") == 5, what="healed")
    body = service.get(f"/v1/threads/{s.order_id}").json()
    assert [m["body"] for m in body["messages"]] == ["one", "two", "three"]
    assert body["unread_for_admin"] == 0 and body["message_count"] == 3
    assert parked.count_documents({"order_id": s.order_id}) == 0


def mongo_of(service: RunningService) -> str:
    env = service.process.env or {}
    return env["MONGO_URL"]


def test_gap_healed_from_the_event_feed(mongo_url: str) -> None:
    s = ThreadScript.new(Positions(2 * 10**9))
    events = [s.start(), s.post("a"), s.post("b"), s.post("c")]
    settings = Settings(mongo_url=mongo_url, mongo_db=f"heal_{uuid.uuid4().hex[:8]}")

    async def go() -> dict[str, object] | None:
        async with resources(settings) as res:
            gen = Generation(1)
            await res.store.ensure_indexes(gen)
            applier = BatchApplier(res.store)
            await applier.apply(gen, [events[0], events[3]])  # versions 2 and 3 never came through Kafka
            feed = InMemoryEventFeed(list(events))
            healed = await GapHealer(res.store, applier, feed).heal_once()
            assert healed == 3 and feed.calls[0][0] == events[0].position
            return await res.store.db[gen.threads].find_one({"_id": s.order_id})

    doc = asyncio.run(go())
    assert doc is not None and doc["version"] == 4 and doc["message_count"] == 3


def test_poison_goes_to_the_dead_letter_topic_and_good_events_flow(
    service: RunningService, kafka_settings: KafkaSettings
) -> None:
    marker = uuid.uuid4().hex
    s = ThreadScript.new(Positions(3 * 10**9))
    unknown = f'{{"event_type": "Teleported", "schema_version": 1, "marker": "{marker}"}}'.encode()
    publish(kafka_settings, [(THREAD_EVENTS, b"not json " + marker.encode()), (THREAD_EVENTS, unknown), s.start()])
    publish(kafka_settings, [s.post("after the poison")])
    wait_for(lambda: service.get(f"/v1/threads/{s.order_id}").json().get("message_count") == 1, what="good events")

    async def letters() -> list[tuple[bytes, dict[str, bytes]]]:
        consumer = AIOKafkaConsumer(DEAD_LETTERS, auto_offset_reset="earliest", **kafka_settings.client_kwargs())
        await consumer.start()
        found: list[tuple[bytes, dict[str, bytes]]] = []
        try:
            for _ in range(20):
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    found += [(r.value, dict(r.headers)) for r in records if marker.encode() in (r.value or b"")]
                if len(found) >= 2:
                    break
        finally:
            await consumer.stop()
        return found

    found = asyncio.run(letters())
    reasons = sorted(h["dlq.reason"].decode() for _, h in found)
    assert len(found) == 2, reasons
    assert reasons[0].startswith("not JSON") and "unknown event Teleported v1" in reasons[1]


def test_rebuild_during_live_traffic_loses_nothing_and_resumes(
    service: RunningService, kafka_settings: KafkaSettings
) -> None:
    url = mongo_of(service)
    settings = Settings(mongo_url=url, mongo_db=service.db, kafka=kafka_settings)
    scripts, first = interleaved(20, 5, Positions(4 * 10**9))
    publish(kafka_settings, first)

    async def go() -> int:
        async with resources(settings) as res:
            stop = asyncio.Event()
            halted = Rebuilder(res.store, KafkaEventLog(settings.kafka), None, stop=stop, out=io.StringIO(), batch=10)
            halted.on_batch = stop.set  # stop after the first batch: the checkpoint must be kept
            try:
                await halted.run("kafka")
                raise AssertionError("the rebuild did not stop")
            except RebuildStopped:
                pass
            live = asyncio.create_task(asyncio.to_thread(publish_more))
            out = io.StringIO()
            report = await Rebuilder(res.store, KafkaEventLog(settings.kafka), None, out=out, batch=50).run("kafka")
            await live
            assert "ev/s" in out.getvalue() and "ETA" in out.getvalue()
            return report.generation

    more: list[ThreadEvent] = []

    def publish_more() -> None:
        for s in scripts:
            more.append(s.post(f"live {s.order_id}"))
        publish(kafka_settings, more)

    gen = asyncio.run(go())
    assert gen == 2
    db: Db = pymongo.MongoClient(url)[service.db]
    assert db.meta.find_one({"_id": "active_generation"})["generation"] == 2  # type: ignore[index]
    for s in scripts:
        wait_for(partial(caught_up, db, 2, s), timeout=30, what=s.order_id)
        assert stored(db, 2, s.order_id) == expected_doc(s)
    row = service.get(f"/v1/threads/{scripts[0].order_id}").json()
    assert row["version"] == len(scripts[0].events)
