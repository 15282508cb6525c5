"""Long-thread benchmark: post latency and cold aggregate load on a thread of 10,000 messages, snapshots on and off.

For each SNAPSHOT_INTERVAL of BENCH_LONG_INTERVALS (default ``0,100``; 0 turns snapshots off) and each
store of BENCH_STORES (default ``sqlite,postgres``; PostgreSQL in throw-away databases on the POSTGRES_*
server, skipped with its reason when there is none), all in one run:

- builds a thread of BENCH_LONG_MESSAGES (default 10,000) messages in a fresh store through the
  application (batched commands, no HTTP), both sides posting and reading, then posts one at a time
  until the thread is one event short of its next snapshot (the worst case for a cold load);
- cold loads: a new application instance without an aggregate cache loads the thread
  BENCH_LONG_LOADS times (default 50): p50/p99, and how many stored events each load reads;
- posts over HTTP: the messaging service (``serve``, as ``make run`` starts it, on a stand-in broker)
  on that store; after one post to a short thread, the long thread's first post (loaded cold in the
  service), then BENCH_LONG_POSTS (default 1,000) sequential posts from one client: p50/p99/max.

The intervals of one store take turns, load by load and post by post (a service per interval, all
running), so each meets the same machine load while other processes come and go.

Run with ``make bench-long`` or ``.venv/bin/python bench/long_thread.py``. The machine's cores and
load average are printed with the figures: compare the intervals within one run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.system_probe import load_average  # noqa: E402
from bench.write import SECRET, Connection, PostgresDatabases, pct, post, ready_probe  # noqa: E402

from ordertalk_contracts.topics import ALL_TOPICS  # noqa: E402
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv  # noqa: E402
from ordertalk_devstack.servers import start_kafka  # noqa: E402
from ordertalk_messaging.application.caller import Caller  # noqa: E402
from ordertalk_messaging.application.services import NewOrder, ThreadService, marking_read, posting  # noqa: E402
from ordertalk_messaging.application.writer import Change, Command  # noqa: E402
from ordertalk_messaging.bootstrap import open_store, tables_for  # noqa: E402
from ordertalk_messaging.domain.participant import Participant  # noqa: E402
from ordertalk_messaging.domain.thread import OrderThread, thread_id_for  # noqa: E402
from ordertalk_messaging.settings import Settings  # noqa: E402
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec  # noqa: E402
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_LONG_MESSAGES", "10000"))
LOADS = int(os.environ.get("BENCH_LONG_LOADS", "50"))
POSTS = int(os.environ.get("BENCH_LONG_POSTS", "1000"))
INTERVALS = [int(i) for i in os.environ.get("BENCH_LONG_INTERVALS", "0,100").split(",") if i.strip()]
STORES = [s.strip() for s in os.environ.get("BENCH_STORES", "sqlite,postgres").split(",") if s.strip()]
ORDER_ID = "long-00001"
WARM_ORDER_ID = "short-00002"  # a short thread: the service's first post, so the long thread's first is only its own
ADMIN = Caller(Participant("admin", "bench", "Bench Admin"))
CUSTOMER = Caller(Participant("customer", "customer-1", "Jane Doe"), customer_id="customer-1")


def build_thread(settings: Settings) -> tuple[float, int]:
    """A thread of MESSAGES messages (both sides posting, the admin reading every 50): seconds taken, events."""
    store = open_store(settings)
    service = ThreadService(store, tables_for(store, settings))
    started = time.perf_counter()
    service.register_order(NewOrder(ORDER_ID, "#00001", "customer-1", "Jane Doe", "jane@example.com"), None)
    service.register_order(NewOrder(WARM_ORDER_ID, "#00002", "customer-1", "Jane Doe", "jane@example.com"), None)
    changes: list[Change[Any, Any]] = []
    for i in range(MESSAGES):
        caller = CUSTOMER if i % 3 else ADMIN
        changes.append(Command(ORDER_ID, caller, posting(uuid.uuid4(), f"message {i} of a long thread", caller, None)))
        if i % 50 == 49:
            changes.append(Command(ORDER_ID, ADMIN, marking_read(ADMIN, None)))
        if len(changes) >= 500:
            service.writer.call_all(changes)
            changes = []
    service.writer.call_all(changes)
    seconds = time.perf_counter() - started
    thread: OrderThread = store.repository.get(thread_id_for(ORDER_ID))
    while store.snapshot_interval and thread.version - thread.snapshot_version < store.snapshot_interval - 1:
        # the worst case for a cold load: one event short of the next snapshot
        service.post_message(ORDER_ID, CUSTOMER, uuid.uuid4(), "one more", None)
    version = thread.version
    service.close()
    store.close()
    return seconds, version


@dataclass
class Case:
    """One (store, interval): its settings, the service's environment, and what was measured."""

    label: str
    name: str
    settings: Settings
    env: dict[str, str]
    build_seconds: float = 0.0
    events: int = 0
    loads: list[float] = field(default_factory=list)
    events_read: int = 0
    snapshot_bytes: int = 0
    first_post: float = 0.0
    posts: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def cold_loads(cases: list[Case]) -> None:
    """LOADS loads of each case's thread by a new application without an aggregate cache, the cases in turn.

    Taking turns, every case meets the same machine load (other processes come and go).
    """
    stores = [open_store(c.settings.model_copy(update={"aggregate_cache_maxsize": 0})) for c in cases]
    thread_id = thread_id_for(ORDER_ID)
    try:
        for _ in range(LOADS):
            for case, store in zip(cases, stores, strict=True):
                started = time.perf_counter()
                thread: OrderThread = store.repository.get(thread_id)
                case.loads.append(time.perf_counter() - started)
                assert thread.message_count >= MESSAGES
        for case, store in zip(cases, stores, strict=True):
            snapshots = store.snapshots
            latest = list(snapshots.recorder.select_events(thread_id, desc=True, limit=1)) if snapshots else []
            after = latest[0].originator_version if latest else 0
            case.events_read = len(list(store.events.get(thread_id, gt=after)))
            case.snapshot_bytes = len(latest[0].state) if latest else 0
    finally:
        for store in stores:
            store.close()


async def http_posts(cases: list[Case], var: Path) -> None:
    """A service per case; each one's first post (its cold load), then POSTS posts to each in turn, one at a time."""
    services, clients = [], []
    codec = TokenCodec(AuthSettings(jwt_secret=SECRET))
    headers = {
        "Authorization": f"Bearer {codec.mint(Principal('admin', 'bench', 'Bench Admin'))}",
        "Content-Type": "application/json",
    }
    try:
        for case in cases:
            port = free_port()
            argv = python_argv("-m", "ordertalk_messaging", "serve", "--port", str(port), "--log-level", "warning")
            log_path = var / "log" / f"messaging-{case.name}.log"
            services.append(ManagedProcess(f"messaging-{case.name}", argv, log_path, env=case.env))
            await asyncio.to_thread(services[-1].start, ready_probe(f"http://127.0.0.1:{port}"), 60.0)
            clients.append(Connection("127.0.0.1", port, headers))
        for case, client in zip(cases, clients, strict=True):
            warm = await post(client, WARM_ORDER_ID)  # the service's first request, on a short thread
            case.errors += [warm.error] if warm.error else []
            first = await post(client, ORDER_ID)
            case.first_post = first.latency
            case.errors += [first.error] if first.error else []
        for _ in range(POSTS):
            for case, client in zip(cases, clients, strict=True):
                result = await post(client, ORDER_ID)
                if result.error:
                    case.errors.append(result.error)
                else:
                    case.posts.append(result.latency)
    finally:
        for client in clients:
            await client.close()
        for service in services:
            service.stop()


def ms(seconds: float) -> str:
    """Seconds as milliseconds."""
    return f"{seconds * 1000:7.2f} ms"


def report(f: Case) -> None:
    """Print one (store, interval)'s figures."""
    print(f"=== {f.label}")
    print(f"  built {MESSAGES} messages in {f.build_seconds:.1f} s through the application; {f.events} events")
    print(
        f"  cold load (new application, no cache), {len(f.loads)} loads: min {ms(min(f.loads))}  "
        f"p50 {ms(pct(f.loads, 0.5))}  "
        f"p99 {ms(pct(f.loads, 0.99))}  max {ms(max(f.loads))}"
    )
    print(
        f"    events read: {f.events_read}"
        + (f" after a snapshot of {f.snapshot_bytes} bytes" if f.snapshot_bytes else "")
    )
    print(f"  HTTP post, the thread's first after start (its cold load in the service): {ms(f.first_post)}")
    print(
        f"  HTTP post, {len(f.posts)} sequential: min {ms(min(f.posts))}  p50 {ms(pct(f.posts, 0.5))}  "
        f"p99 {ms(pct(f.posts, 0.99))}  "
        f"max {ms(max(f.posts))}  failed {len(f.errors)}" + (f" (the first: {f.errors[0]})" if f.errors else ""),
        flush=True,
    )


async def main() -> None:
    """Every store of BENCH_STORES with every interval of BENCH_LONG_INTERVALS, on one stand-in broker."""
    var = Path(tempfile.mkdtemp(prefix="bench-long-"))
    print(f"work dir {var}; {load_average()}", flush=True)
    port = free_port()
    broker = start_kafka(port, var / "log" / "kafka")
    postgres = PostgresDatabases()
    try:
        kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", enable_idempotence=False, topic_partitions=6)
        await ensure_topics(kafka, ALL_TOPICS)
        base_env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": "false",
            "AUTH_JWT_SECRET": SECRET,
            "ORDERS_CONSUMER_ENABLED": "false",
            "RATE_LIMIT_WRITES_PER_SECOND": "0",
        }
        for name in ("SQLITE_SYNCHRONOUS", "AGGREGATE_CACHE_MAXSIZE", "SNAPSHOT_INTERVAL"):
            base_env.pop(name, None)
        for store in STORES:
            cases: list[Case] = []
            for interval in INTERVALS:
                name = f"{store}-{interval}"
                if store == "sqlite":
                    path = var / f"{name}.sqlite"
                    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=path, SNAPSHOT_INTERVAL=interval)
                    env = {"EVENT_STORE": "sqlite", "EVENT_STORE_SQLITE_PATH": str(path)}
                else:
                    try:
                        settings = postgres.create().model_copy(update={"snapshot_interval": interval})
                    except Exception as exc:
                        print(f"=== PostgreSQL skipped: {exc}")
                        break
                    env = {"EVENT_STORE": "postgres", "POSTGRES_DB": settings.postgres_db}
                label = f"{store}, SNAPSHOT_INTERVAL={interval}" + (" (snapshots off)" if not interval else "")
                cases.append(Case(label, name, settings, base_env | env | {"SNAPSHOT_INTERVAL": str(interval)}))
            if not cases:
                continue
            for case in cases:
                case.build_seconds, case.events = await asyncio.to_thread(build_thread, case.settings)
            await asyncio.to_thread(cold_loads, cases)
            await http_posts(cases, var)
            print(f"--- {store}: the intervals measured in turns; {load_average()}")
            for case in cases:
                report(case)
        print(f"done; {load_average()}")
    finally:
        postgres.drop_all()
        broker.stop()


if __name__ == "__main__":
    asyncio.run(partial(main)())
