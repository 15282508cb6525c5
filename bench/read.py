"""Read-side benchmark: publish-to-visible lag, rebuild rate vs raw bulk writes, the lists and bell at 100k threads.

Starts its own stand-in servers (Tansu, nx-27017) and the projections service on free ports, prints figures.
The query part fills a generation (``read_fill.py``) and measures every list beside the bare driver
(``read_lists.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from ordertalk_contracts import THREAD_EVENTS, IntegrationEvent, dump
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv
from ordertalk_projections.adapters.kafka_source import KafkaEventLog
from ordertalk_projections.application.ports import EventLog
from ordertalk_projections.application.rebuild import CHUNK, Rebuilder, RebuildReport
from ordertalk_projections.bootstrap import resources
from ordertalk_projections.domain.generations import POINTER_TTL, Generation
from ordertalk_projections.settings import Settings
from ordertalk_runtime.kafka import KafkaSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import read_lists, read_rebuild
from bench.read_fill import SEARCH_WORD, FillReport, fill
from bench.read_lists import PAGES, PER_PAGE
from bench.stand_ins import stand_ins
from tests.projections.harness import auth, service_env
from tests.projections.scripts import ADMIN, Positions, ThreadScript

RATE = 200  # events per second
LAG_SECONDS = 10
FILL_GENERATION = Generation(1)
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


async def rebuild_rate(settings: Settings, log: EventLog | None = None) -> tuple[RebuildReport, float, int]:
    """Rebuild from Kafka offset zero (or ``log``), then the raw baseline: the same documents, raw ``insert_many``.

    The baseline inserts exactly the documents the rebuild produced (its threads, messages and orders)
    into fresh collections in chunks of the rebuild's chunk size, and answers its duration and doc count.
    """
    async with resources(settings) as res:
        source = log or KafkaEventLog(settings.kafka)
        report = await Rebuilder(res.store, source, None, out=io.StringIO(), batch=5000).run("kafka")
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


def print_rebuild(
    report: RebuildReport, raw_seconds: float, docs: int, label: str = "rebuild from Kafka offset zero"
) -> None:
    """Print one rebuild and its raw baseline."""
    raw = report.loaded / raw_seconds  # events' worth of documents per second
    print(
        f"{label}: {report.events} events in {report.seconds:.2f} s = {report.rate:.0f} ev/s"
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


def query(
    args: argparse.Namespace, kafka: KafkaSettings, mongo_url: str, var: Path, procs: list[ManagedProcess]
) -> None:
    """Fill a generation at the asked size, serve it (API only) and measure the lists and the bell."""
    qsettings = Settings(mongo_url=mongo_url, mongo_db="bench_query", kafka=kafka)
    t = time.perf_counter()
    report = asyncio.run(filled(qsettings, args.threads, args.messages_per_thread))
    print(
        f"filled {report.threads} threads, {report.messages} messages ({report.events} events) in"
        f" {time.perf_counter() - t:.1f} s: events generated and projected {report.build_seconds:.1f} s"
        f" (overlapping the load), insert_many {report.load_seconds:.1f} s, indexes {report.index_seconds:.1f} s",
        flush=True,
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = service_env(kafka, mongo_url, "bench_query", f"bench-q-{uuid.uuid4().hex[:6]}")
    argv = python_argv(
        "-m", "ordertalk_projections", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-workers"
    )
    api = ManagedProcess("projections-api", argv, var / "api.log", env).start(lambda: ready(url), 60)
    procs.append(api)
    customer = report.customers[0]
    print(
        f"reads at {report.threads} threads, {PER_PAGE} per page, pages 1-{PAGES} in turn, one client, sequential;"
        f" customer {customer}; {load()}",
        flush=True,
    )
    read_lists.run(url, mongo_url, "bench_query", FILL_GENERATION, SEARCH_WORD, customer, args.requests)
    print(f"  {load()}")


def rebuild_scale(args: argparse.Namespace, kafka: KafkaSettings, mongo_url: str) -> None:
    """The real rebuild over the fill's events (``--rebuild-threads`` threads) read from memory, beside raw."""
    t = time.perf_counter()
    log = read_rebuild.events(args.rebuild_threads, args.messages_per_thread)
    print(
        f"rebuild at scale: {len(log)} events of {args.rebuild_threads} threads generated in"
        f" {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    settings = Settings(mongo_url=mongo_url, mongo_db="bench_rebuild", kafka=kafka)
    report, raw_seconds, docs = asyncio.run(rebuild_rate(settings, read_rebuild.MemoryLog(log)))
    print_rebuild(report, raw_seconds, docs, f"rebuild of {len(log)} generated events read from memory")


async def filled(settings: Settings, threads: int, per_thread: int) -> FillReport:
    """Fill the query database's generation 1 (see ``bench/read_fill.py``)."""
    async with resources(settings) as res:
        return await fill(res.store, FILL_GENERATION, threads, per_thread)


def main() -> None:
    """``bench/read.py [lag|rebuild|query|rebuild-scale ...] [--threads N] [--messages-per-thread M] ...``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("parts", nargs="*", help="all parts by default")
    parser.add_argument("--threads", type=int, default=100_000, help="threads filled for the query part")
    parser.add_argument("--messages-per-thread", type=int, default=10, help="messages per thread on average")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per read measured")
    parser.add_argument("--rebuild-threads", type=int, default=100_000, help="threads of the rebuild-scale part")
    args = parser.parse_args()
    parts = set(args.parts) or {"lag", "rebuild", "query"}  # rebuild-scale only when asked: 1M events take long
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers we started on a timeout too
    with stand_ins("bench-read-") as servers:
        var, kafka, mongo_url, procs = servers.var, servers.kafka, servers.mongo_url, servers.procs
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
            query(args, kafka, mongo_url, var, procs)
        if "rebuild-scale" in parts:
            rebuild_scale(args, kafka, mongo_url)


if __name__ == "__main__":
    main()
