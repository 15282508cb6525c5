"""Read-side benchmark: publish-to-visible lag, rebuild rate vs raw bulk writes, thread-list query latency.

Starts its own stand-in servers (Tansu, nx-27017) and the projections service on free ports, prints figures.
"""

from __future__ import annotations

import asyncio
import io
import os
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
from ordertalk_projections.adapters.kafka_source import KafkaEventLog
from ordertalk_projections.adapters.mongo_queries import THREAD_SORT, thread_filter
from ordertalk_projections.application.applier import BatchApplier
from ordertalk_projections.application.rebuild import CHUNK, Rebuilder, RebuildReport
from ordertalk_projections.bootstrap import resources
from ordertalk_projections.domain.generations import POINTER_TTL, Generation
from ordertalk_projections.domain.reading import Viewer
from ordertalk_projections.settings import Settings
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.projections.harness import auth, service_env
from tests.projections.scripts import ADMIN, Positions, ThreadScript

RATE = 200  # events per second
LAG_SECONDS = 10
QUERY_THREADS = 10_000
QUERIES = 10
REBUILDS = int(os.environ.get("BENCH_REBUILDS", "3"))  # the machine is shared: one rebuild is one noisy sample


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
    unseen: list[int] = []  # published positions not yet visible, ascending (positions grow)
    published = asyncio.Event()
    done = asyncio.Event()
    headers = auth()

    async def watch(client: httpx.AsyncClient) -> None:
        """Read-your-writes probe: ask for the oldest unseen position with ``?after=``.

        The server answers as soon as it has applied that position (woken by its position watch), so the
        probe adds one cheap list request, not a polling interval. Everything the answer's position covers
        is visible at that moment.
        """
        while not done.is_set() or unseen:
            if not unseen:
                published.clear()
                await published.wait()
                continue
            params = {"per_page": 1, "after": unseen[0]}
            r = await client.get(f"{url}/v1/threads", params=params, headers=headers)
            now = time.perf_counter()
            applied = int(r.headers.get("X-Projection-Position", "0"))
            while unseen and unseen[0] <= applied:
                seen[unseen.pop(0)] = now
            if done.is_set() and time.perf_counter() - last_send > 10:
                return

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
            unseen.append(e.position)
            published.set()
            events.append(e)
            last_send = time.perf_counter()
        done.set()
        published.set()
        await watcher
    await producer.stop()
    return [seen[p] - sent[p] for p in sent if p in seen], events


async def rebuild_rate(settings: Settings) -> tuple[RebuildReport, float, int]:
    """Rebuild from Kafka offset zero, then the raw baseline: the same documents, raw ``insert_many``.

    The baseline inserts exactly the documents the rebuild produced (its threads, messages and orders)
    into fresh collections in chunks of the rebuild's chunk size, and answers its duration and doc count.
    """
    async with resources(settings) as res:
        report = await Rebuilder(res.store, KafkaEventLog(settings.kafka), None, out=io.StringIO(), batch=5000).run(
            "kafka"
        )
        gen = Generation(report.generation)
        docs = 0
        seconds = 0.0
        for name in (gen.messages, gen.threads, gen.orders):
            produced = await res.store.db[name].find({}).to_list(None)
            await res.store.db.drop_collection(f"raw_{name}")
            target = await res.store.db.create_collection(f"raw_{name}")  # created like the rebuild's (setup)
            t = time.perf_counter()
            for i in range(0, len(produced), CHUNK):
                await target.insert_many(produced[i : i + CHUNK], ordered=False)
            seconds += time.perf_counter() - t
            docs += len(produced)
    return report, seconds, docs


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


def print_rebuild(report: RebuildReport, raw_seconds: float, docs: int) -> None:
    """Print one rebuild and its raw baseline."""
    raw = report.loaded / raw_seconds  # events' worth of documents per second
    print(
        f"rebuild from Kafka offset zero: {report.events} events in {report.seconds:.2f} s = {report.rate:.0f} ev/s"
        f" (setup {report.setup_seconds:.2f} s, bulk load {report.load_seconds:.2f} s,"
        f" finish {report.finish_seconds:.2f} s: indexes, catch-up, switch, {POINTER_TTL:.1f} s pointer wait)"
    )
    print(f"  bulk load (steady state): {report.loaded} events at {report.load_rate:.0f} ev/s")
    print(
        f"  raw insert_many of the same {docs} documents (chunks of {CHUNK} like the rebuild, no indexes):"
        f" {raw_seconds:.2f} s"
        f" = {docs / raw_seconds:.0f} docs/s = {raw:.0f} ev/s"
    )
    print(
        f"  -> bulk load is {100 * report.load_rate / raw:.0f}% of raw; whole rebuild with setup and finish"
        f" {100 * report.rate / raw:.0f}%"
    )
    print(f"  {load()}")


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def load() -> str:
    """The machine's load average (the figures are taken on a shared machine)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    """``bench/read.py [lag|rebuild|query ...]``: all parts by default."""
    parts = set(sys.argv[1:]) or {"lag", "rebuild", "query"}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers we started on a timeout too
    var = Path(tempfile.mkdtemp(prefix="bench-read-"))
    kport, mport = free_port(), free_port()
    procs = [start_kafka(kport, var), start_mongo(mport, None, var)]
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{kport}", enable_idempotence=False, topic_partitions=3)
    mongo_url = f"mongodb://127.0.0.1:{mport}"
    try:
        asyncio.run(ensure_topics(kafka, list(ALL_TOPICS)))
        print(load())
        if parts & {"lag", "rebuild"}:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = service_env(kafka, mongo_url, "bench_live", "bench-live")
            argv = python_argv("-m", "ordertalk_projections", "serve", "--host", "127.0.0.1", "--port", str(port))
            service = ManagedProcess("projections", argv, var / "projections.log", env).start(lambda: ready(url), 60)
            procs.append(service)
            print(f"lag: {RATE} events/s for {LAG_SECONDS} s over 100 threads, publish -> visible in GET /v1/threads")
            lags, _ = asyncio.run(lag(kafka, url))
            print(f"  lag {ms(lags)}; goal p99 <= 250 ms -> p99 is {1000 * pct(lags, 0.99) / 250:.2f}x the goal")
            print(f"  {load()}")
            service.stop()
        if "rebuild" in parts:
            settings = Settings(mongo_url=mongo_url, mongo_db="bench_live", kafka=kafka)
            for _ in range(REBUILDS):
                report, raw_seconds, docs = asyncio.run(rebuild_rate(settings))
                print_rebuild(report, raw_seconds, docs)
        if "query" in parts:
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
            print(f"  {load()}")
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
