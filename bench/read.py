"""Read-side benchmark: publish-to-visible lag, rebuild rate vs raw bulk writes, thread-list query latency.

Starts its own stand-in servers (Tansu, nx-27017) and the projections service on free ports, prints figures.
"""

from __future__ import annotations

import asyncio
import io
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from ordertalk_contracts import THREAD_EVENTS, IntegrationEvent, dump
from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv
from ordertalk_devstack.servers import start_kafka, start_mongo
from ordertalk_projections.applier import BatchApplier
from ordertalk_projections.bootstrap import resources
from ordertalk_projections.generations import Generation
from ordertalk_projections.queries import THREAD_SORT, Viewer, thread_filter
from ordertalk_projections.rebuild import Rebuilder
from ordertalk_projections.settings import Settings
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.projections.harness import auth, service_env
from tests.projections.scripts import ADMIN, Positions, ThreadScript

RATE = 200  # events per second
LAG_SECONDS = 10
QUERY_THREADS = 10_000
QUERIES = 10


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> str:
    return f"p50 {1000 * statistics.median(values):.1f} ms, p99 {1000 * pct(values, 0.99):.1f} ms (n={len(values)})"


async def lag(kafka: KafkaSettings, url: str) -> tuple[list[float], list[IntegrationEvent]]:
    """Publish at a steady RATE; time until the thread list answers with a position covering each event."""
    positions = Positions()
    scripts = [ThreadScript.new(positions) for _ in range(100)]
    events: list[IntegrationEvent] = [s.start() for s in scripts]
    producer = AIOKafkaProducer(**kafka.producer_kwargs(), linger_ms=0)
    await producer.start()
    for e in events:
        await producer.send_and_wait(THREAD_EVENTS, dump(e), key=e.order_id.encode())  # type: ignore[attr-defined]
    sent: dict[int, float] = {}
    seen: dict[int, float] = {}
    done = asyncio.Event()
    headers = auth()

    async def watch(client: httpx.AsyncClient) -> None:
        while not done.is_set() or len(seen) < len(sent):
            r = await client.get(f"{url}/v1/threads", params={"per_page": 1}, headers=headers)
            now = time.perf_counter()
            applied = int(r.headers.get("X-Projection-Position", "0"))
            for p in list(sent):
                if p not in seen and p <= applied:
                    seen[p] = now
            if done.is_set() and time.perf_counter() - last_send > 10:
                return
            await asyncio.sleep(0.01)

    last_send = time.perf_counter()
    async with httpx.AsyncClient(timeout=10) as client:
        watcher = asyncio.create_task(watch(client))
        start = time.perf_counter()
        rng = random.Random(1)
        for i in range(RATE * LAG_SECONDS):
            due = start + i / RATE
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            s = rng.choice(scripts)
            e = s.post(f"bench message {i}", rng.choice([ADMIN, s.customer_actor]))
            sent[e.position] = time.perf_counter()
            await producer.send(THREAD_EVENTS, dump(e), key=e.order_id.encode())
            events.append(e)
            last_send = time.perf_counter()
        done.set()
        await watcher
    await producer.stop()
    return [seen[p] - sent[p] for p in sent if p in seen], events


async def rebuild_rate(settings: Settings, events: int) -> tuple[float, float]:
    """Rebuild from Kafka offset zero (events/s) and the raw bulk-write rate of similar documents."""
    async with resources(settings) as res:
        report = await Rebuilder(settings, res.store, None, out=io.StringIO(), batch=5000).run("kafka")
        docs = [{"_id": f"raw-{i}", "body": "x" * 300, "n": i, "tags": ["a", "b"]} for i in range(events)]
        t = time.perf_counter()
        for i in range(0, len(docs), 1000):
            await res.store.db["raw_bulk"].insert_many(docs[i : i + 1000], ordered=False)
        raw = len(docs) / (time.perf_counter() - t)
    return report.rate, raw


async def fill(settings: Settings, threads: int) -> str:
    """Project ``threads`` threads (start + 2 messages each) straight into generation 1; answers a search word."""
    word = "needle"
    positions = Positions()
    rng = random.Random(2)
    async with resources(settings) as res:
        gen = Generation(1)
        await res.store.ensure_indexes(gen)
        applier = BatchApplier(res.store)
        batch: list[IntegrationEvent] = []
        for i in range(threads):
            s = ThreadScript.new(positions)
            body = f"{word} parcel {i}" if rng.random() < 0.1 else f"hello parcel {i}"
            batch += [s.start(), s.post(body), s.post("noted", ADMIN) if rng.random() < 0.5 else s.read()]
            if len(batch) >= 3000:
                await applier.apply(gen, batch)
                batch = []
        await applier.apply(gen, batch)
    return word


async def query_latency(url: str, settings: Settings, word: str) -> dict[str, list[float]]:
    """Latency of the thread list through the API, beside the bare driver query of the same page."""
    cases = {"all": {}, "unread": {"type": "unread"}, "keyword+unread": {"q": word, "type": "unread"}}
    out: dict[str, list[float]] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for name, params in cases.items():
            times = []
            for i in range(QUERIES):
                t = time.perf_counter()
                r = await client.get(f"{url}/v1/threads", params={**params, "page": 1 + i % 5}, headers=auth())
                times.append(time.perf_counter() - t)
                assert r.status_code == 200
            out[f"api {name}"] = times
    client_db: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    coll = client_db[settings.mongo_db][Generation(1).threads]
    flt = thread_filter(Viewer.of("admin", "x"), word, "unread")
    times = []
    for i in range(QUERIES):
        t = time.perf_counter()
        await coll.find(flt).sort(THREAD_SORT).skip(25 * (i % 5)).limit(25).to_list(25)
        await coll.count_documents(flt)
        times.append(time.perf_counter() - t)
    out["driver keyword+unread (find+count_documents)"] = times
    times = []
    for i in range(QUERIES):
        t = time.perf_counter()
        await coll.find(flt).sort(THREAD_SORT).skip(25 * (i % 5)).limit(25).to_list(25)
        times.append(time.perf_counter() - t)
    out["driver keyword+unread (page only, no total)"] = times
    await client_db.close()
    return out


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers we started on a timeout too
    var = Path(tempfile.mkdtemp(prefix="bench-read-"))
    kport, mport = free_port(), free_port()
    procs = [start_kafka(kport, var), start_mongo(mport, None, var)]
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{kport}", enable_idempotence=False, topic_partitions=3)
    mongo_url = f"mongodb://127.0.0.1:{mport}"
    try:
        asyncio.run(ensure_topics(kafka, list(ALL_TOPICS)))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = service_env(kafka, mongo_url, "bench_live", "bench-live")
        argv = python_argv("-m", "ordertalk_projections", "serve", "--host", "127.0.0.1", "--port", str(port))
        service = ManagedProcess("projections", argv, var / "projections.log", env).start(lambda: ready(url), 60)
        procs.append(service)
        print(f"lag: {RATE} events/s for {LAG_SECONDS} s over 100 threads, publish -> visible in GET /v1/threads")
        lags, events = asyncio.run(lag(kafka, url))
        print(f"  lag {ms(lags)}; goal p99 <= 250 ms -> p99 is {1000 * pct(lags, 0.99) / 250:.2f}x the goal")
        service.stop()
        settings = Settings(mongo_url=mongo_url, mongo_db="bench_live", kafka=kafka)
        rebuild, raw = asyncio.run(rebuild_rate(settings, len(events)))
        print(f"rebuild from Kafka offset zero: {len(events)} events at {rebuild:.0f} ev/s")
        print(
            f"  raw insert_many of {len(events)} docs: {raw:.0f} docs/s -> rebuild is {100 * rebuild / raw:.0f}% of raw"
        )
        qsettings = Settings(mongo_url=mongo_url, mongo_db="bench_query", kafka=kafka)
        t = time.perf_counter()
        word = asyncio.run(fill(qsettings, QUERY_THREADS))
        print(f"filled {QUERY_THREADS} threads ({3 * QUERY_THREADS} events) in {time.perf_counter() - t:.1f} s")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = service_env(kafka, mongo_url, "bench_query", f"bench-q-{uuid.uuid4().hex[:6]}")
        argv = python_argv(
            "-m", "ordertalk_projections", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-workers"
        )
        api = ManagedProcess("projections-api", argv, var / "api.log", env).start(lambda: ready(url), 60)
        procs.append(api)
        print(f"thread list at {QUERY_THREADS} threads, 25 per page, pages 1-5:")
        results = asyncio.run(query_latency(url, qsettings, word))
        bare = statistics.median(results["driver keyword+unread (page only, no total)"])
        for name, times in results.items():
            print(f"  {name}: {ms(times)}; p50 = {statistics.median(times) / bare:.1f}x the bare page", flush=True)
        print("  100k threads: not measured (10x the fill time above would exceed the 3-minute budget)")
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
