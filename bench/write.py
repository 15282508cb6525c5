"""Write-side benchmark: HTTP posts/s and latency, relay lag, beside raw store and raw broker rates.

Starts its own stand-in brokers and the messaging service (free ports, temporary directory) and
prints figures; it is not a timed test. Run with ``make bench-write`` or ``.venv/bin/python
bench/write.py`` (about 2 minutes). Once: the HTTP floor (bench/floor_app.py, the post route doing
nothing, under the same client). Then for each store of BENCH_STORES (default ``sqlite,postgres``;
PostgreSQL in throw-away databases on the POSTGRES_* server, skipped with its reason when there is
none), on a new stand-in broker whose raw produce rate is measured first:

- raw store appends (application layer, one command per commit, no HTTP) over many order threads
  and over one;
- closed-loop HTTP posts (BENCH_CLIENTS clients, default 16) over many threads and over one, with
  the CPU the service's processes and the load client spent per post;
- open-loop posts at 200/s and 100/s with a bounded pool (a post that finds every slot busy is
  skipped and counted) and the relay lag;

all on the service as ``make run`` starts it (one process, the relay inside); then the closed-loop
phases again with ``serve --workers`` BENCH_WORKERS (default: the number of cores; the relay in a
process beside them). The load client shares the machine with the service, so the HTTP figures
include its cost; it is a minimal HTTP/1.1 keep-alive client on asyncio streams (one request per
connection at a time), far cheaper per request than a general-purpose client, and its CPU per post
is printed beside the service's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ordertalk_contracts import ORDERS, THREAD_EVENTS, Customer, MessagePostedV1, OrderRegisteredV1, dump, parse
from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_devstack.databases import create_database, drop_database
from ordertalk_devstack.processes import ManagedProcess, descendants, free_port, process_table, python_argv
from ordertalk_devstack.servers import start_kafka
from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.services import NewOrder, ThreadService
from ordertalk_messaging.application.store import MessagingStore
from ordertalk_messaging.bootstrap import open_store, tables_for
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.settings import Settings
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics

SECRET = "bench-secret-0123456789abcdef-0123"
MANY_ORDERS = 200  # posts spread over many order threads, as in a real store
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))  # serve --workers in the main phases
THROUGHPUT_SECONDS = 6.0
PACED_RATES = (200, 100)  # the goal's rate, and half of it
PACED_SECONDS = 8.0
PACED_MAX_IN_FLIGHT = 16  # a bounded client pool: a due post is skipped (and counted) when all are busy
DRAIN_SECONDS = 10.0
RAW_STORE_POSTS = 10000
RAW_STORE_SECONDS = 4.0  # per figure (or RAW_STORE_POSTS): one fsync per post, whose cost varies from run to run
RAW_BROKER_RECORDS = 20000


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def raw_store_rates(settings: Settings) -> tuple[float, float, str]:
    """Posts per second through the application layer directly (no HTTP, no idempotency key), sequential.

    Same store settings as the service (``open_store``), one command per commit in this thread (no
    writer thread): answers the rate over MANY_ORDERS threads, over one thread, and the durability
    settings the store's connections really use.
    """
    store = open_store(settings)
    service = ThreadService(store, tables_for(store, settings), threaded=False)  # in this thread: no hand-off
    admin = Caller(Participant("admin", "bench", "Bench"))
    for i in range(MANY_ORDERS):
        service.register_order(NewOrder(f"raw-{i}", f"#{i:05d}", "customer-1", "Jane", "jane@example.com"), None)
    rates = []
    for spread in (MANY_ORDERS, 1):
        started = time.perf_counter()
        deadline, posts = started + RAW_STORE_SECONDS, 0
        while posts < RAW_STORE_POSTS and (posts < 200 or time.perf_counter() < deadline):
            service.post_message(f"raw-{posts % spread}", admin, uuid.uuid4(), f"message {posts}", None)
            posts += 1
        rates.append(posts / (time.perf_counter() - started))
    durability = store_durability(store, settings)
    store.close()
    return rates[0], rates[1], durability


def store_durability(store: MessagingStore, settings: Settings) -> str:
    """What a commit of ``store`` waits for: SQLite's journal and sync modes, PostgreSQL's commit settings."""
    queries = (
        {"journal_mode": "PRAGMA journal_mode", "synchronous": "PRAGMA synchronous"}
        if settings.event_store == "sqlite"
        else {"synchronous_commit": "SHOW synchronous_commit", "fsync": "SHOW fsync"}
    )
    found = []
    with store.recorder.datastore.transaction(commit=False) as cur:  # type: ignore[attr-defined]
        for name, query in queries.items():
            cur.execute(query)
            row = cur.fetchone()
            value = row[0] if not isinstance(row, dict) else next(iter(row.values()))
            if name == "synchronous":
                value = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[value]
            found.append(f"{name}={value}")
    return ", ".join(found)


async def raw_broker_rate(kafka: KafkaSettings) -> float:
    """Records per second one aiokafka producer gets acknowledged (acks=all), keyed like the relay."""
    producer = AIOKafkaProducer(**kafka.producer_kwargs(), linger_ms=0)
    await producer.start()
    try:
        value = b"x" * 400
        started = time.perf_counter()
        pending = [
            await producer.send("bench.raw", value, key=str(i % MANY_ORDERS).encode())
            for i in range(RAW_BROKER_RECORDS)
        ]
        await asyncio.gather(*pending)
        return RAW_BROKER_RECORDS / (time.perf_counter() - started)
    finally:
        await producer.stop()


class Arrivals:
    """Consumes the thread-events topic from its end and notes when each message id arrives."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.seen: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(**self.kafka.client_kwargs(), group_id=None, fetch_max_wait_ms=5)
        await consumer.start()
        tps = [TopicPartition(THREAD_EVENTS, p) for p in sorted(consumer.partitions_for_topic(THREAD_EVENTS) or [])]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        self._task = asyncio.create_task(self._run(consumer))

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while not self._stop.is_set():
                batches = await consumer.getmany(timeout_ms=20)
                now = time.perf_counter()
                for records in batches.values():
                    for record in records:
                        event = parse(record.value or b"")
                        if isinstance(event, MessagePostedV1):
                            self.seen.setdefault(str(event.message_id), now)
        finally:
            await consumer.stop()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


class HttpError(Exception):
    """A request that got no complete HTTP answer (connection refused or closed, malformed, timed out)."""


class Connection:
    """A minimal HTTP/1.1 keep-alive client connection: one request at a time, Content-Length bodies only.

    The load generator shares the CPU with the service, so it must cost little per request: no URL
    parsing, header objects or cookie jars, the fixed request head is built once per connection.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in (headers | {"Host": f"{host}:{port}"}).items()).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request and answer (status, body); reconnects if the server closed the connection."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(method, path, body, headers or {})
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            await self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc

    async def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = f"{method} {path} HTTP/1.1\r\n{extra}Content-Length: {len(body)}\r\n".encode()
        writer.write(head + self._fixed + b"\r\n" + body)
        response_head = await reader.readuntil(b"\r\n\r\n")
        lines = response_head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, keep_alive = 0, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep_alive = False
            elif name == b"transfer-encoding":
                raise ValueError("chunked answers are not supported by the bench client")
        content = await reader.readexactly(length) if length else b""
        if not keep_alive:
            await self.close()
        return status, content

    async def close(self) -> None:
        """Close the connection (a later request opens a new one)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@dataclass
class Posted:
    """What one post gave: message id, latency, when the answer came; ``error`` if it failed."""

    message_id: str
    latency: float
    done: float
    error: str | None = None


async def post(client: Connection, order_id: str) -> Posted:
    """One post with a fresh message id and Idempotency-Key (a failure is reported, not raised)."""
    message_id = str(uuid.uuid4())
    payload = json.dumps({"body": "benchmark message", "message_id": message_id}).encode()
    started = time.perf_counter()
    try:
        status, content = await client.request(
            "POST", f"/v1/orders/{order_id}/messages", payload, {"Idempotency-Key": message_id}
        )
        error = None if status == 201 else f"{status} {content[:200].decode(errors='replace')}"
    except HttpError as exc:
        error = str(exc)
    done = time.perf_counter()
    return Posted(message_id, done - started, done, error)


def process_cpu(pid: int | None = None) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its children (Linux /proc), or by this one."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    table = process_table()
    if pid not in table:
        return float("nan")
    return table[pid].cpu_seconds + sum(child.cpu_seconds for child in descendants(pid, table))


@dataclass
class Throughput:
    """A closed-loop phase: CLIENTS clients posting back to back."""

    posts: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    service_cpu: float = float("nan")
    client_cpu: float = float("nan")

    @property
    def rate(self) -> float:
        return self.posts / self.seconds


async def throughput_phase(connect: Callable[[], Connection], orders: list[str], service_pid: int) -> Throughput:
    """CLIENTS concurrent clients posting as fast as they can for THROUGHPUT_SECONDS, over ``orders``.

    Also answers the CPU seconds the service and this (client) process used meanwhile.
    """
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + THROUGHPUT_SECONDS

    async def client_loop(n: int) -> int:
        count = 0
        client = connect()
        try:
            while time.perf_counter() < deadline:
                result = await post(client, orders[(n + count * CLIENTS) % len(orders)])
                if result.error is None:
                    latencies.append(result.latency)
                    count += 1
                else:
                    errors.append(result.error)
        finally:
            await client.close()
        return count

    started, service_cpu, client_cpu = time.perf_counter(), process_cpu(service_pid), process_cpu()
    counts = await asyncio.gather(*(client_loop(n) for n in range(CLIENTS)))
    result = Throughput(sum(counts), time.perf_counter() - started, latencies, errors)
    result.service_cpu, result.client_cpu = process_cpu(service_pid) - service_cpu, process_cpu() - client_cpu
    return result


@dataclass
class Paced:
    """An open-loop phase at ``rate`` with at most PACED_MAX_IN_FLIGHT posts outstanding."""

    rate: int
    due: int
    skipped: int
    seconds: float
    results: list[Posted]
    lags: list[float]

    @property
    def ok(self) -> list[Posted]:
        return [r for r in self.results if r.error is None]

    @property
    def sustained(self) -> float:
        return len(self.ok) / self.seconds


async def paced_phase(connect: Callable[[], Connection], orders: list[str], arrivals: Arrivals, rate: int) -> Paced:
    """``rate`` posts per second for PACED_SECONDS; lag = arrival on the topic - HTTP response.

    The pool is bounded: when PACED_MAX_IN_FLIGHT posts are outstanding a due post is skipped and
    counted, so an overloaded service shows as a lower sustained rate instead of a growing backlog.
    """
    results: list[Posted] = []
    total, skipped = int(rate * PACED_SECONDS), 0
    idle: asyncio.Queue[Connection] = asyncio.Queue()  # one connection per slot, as in the closed loop
    clients = [connect() for _ in range(PACED_MAX_IN_FLIGHT)]
    for client in clients:
        idle.put_nowait(client)
    in_flight: set[asyncio.Task[None]] = set()

    async def one(client: Connection, order_id: str) -> None:
        try:
            results.append(await post(client, order_id))
        finally:
            idle.put_nowait(client)

    started = time.perf_counter()
    try:
        for i in range(total):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load, not waiting for a condition
            if idle.empty():
                skipped += 1
                continue
            task = asyncio.create_task(one(idle.get_nowait(), orders[i % len(orders)]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=DRAIN_SECONDS)
        for task in list(in_flight):
            task.cancel()
        seconds = time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()
    deadline = time.perf_counter() + DRAIN_SECONDS
    wanted = [r for r in results if r.error is None]
    while time.perf_counter() < deadline and not all(r.message_id in arrivals.seen for r in wanted):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    lags = [arrivals.seen[r.message_id] - r.done for r in wanted if r.message_id in arrivals.seen]
    return Paced(rate, total, skipped, seconds, results, lags)


def ms(seconds: float) -> str:
    """Seconds as milliseconds, one decimal."""
    return f"{seconds * 1000.0:.1f} ms"


async def register_orders(url: str, kafka: KafkaSettings, headers: dict[str, str], orders: list[str]) -> None:
    """Announce the orders on the orders topic and wait until the service knows every one."""
    producer = AIOKafkaProducer(**kafka.producer_kwargs())
    await producer.start()
    try:
        for oid in orders:
            event = OrderRegisteredV1(
                event_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                order_id=oid,
                order_number=f"#{oid[-5:]}",
                customer=Customer(id="customer-1", name="Jane Doe", email="jane@example.com"),
            )
            await producer.send(ORDERS, dump(event), key=oid.encode())
        await producer.flush()
    finally:
        await producer.stop()
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        deadline = time.perf_counter() + 60
        for oid in orders:
            while (await client.get(f"/v1/orders/{oid}/history", headers=headers)).status_code != 200:
                if time.perf_counter() > deadline:
                    raise RuntimeError("orders never became known to the service")
                await asyncio.sleep(0.1)  # polling the service until the consumer has started the thread


def report_throughput(label: str, result: Throughput, raw: float) -> None:
    """Print a closed-loop phase beside the raw store rate."""
    errors = f"  errors {len(result.errors)}" if result.errors else ""
    print(
        f"HTTP posts, {label:<27} {result.rate:8.0f} posts/s  p50 {ms(pct(result.latencies, 0.5))}"
        f"  p99 {ms(pct(result.latencies, 0.99))}  ({result.posts} posts, {CLIENTS} clients, "
        f"{THROUGHPUT_SECONDS:.0f}s){errors}"
    )
    print(f"  ratio HTTP / raw store ({label.rstrip(':')}): {result.rate / raw:.2f}  (goal >= 0.50)")
    per_post = max(result.posts, 1)
    print(
        f"  CPU per post: service {ms(result.service_cpu / per_post)}, load client {ms(result.client_cpu / per_post)}"
        f" (raw store: {ms(1 / raw)} wall per post)"
    )
    if result.errors:
        print(f"  first error: {result.errors[0]}")


def report_paced(paced: Paced) -> None:
    """Print an open-loop phase: sustained rate, request latency and relay lag."""
    ok = paced.ok
    latencies = [r.latency for r in ok]
    failed = [r.error for r in paced.results if r.error is not None]
    print(
        f"paced {paced.rate}/s for {PACED_SECONDS:.0f}s over {MANY_ORDERS} threads (at most "
        f"{PACED_MAX_IN_FLIGHT} in flight): sustained {paced.sustained:.0f} posts/s, {len(ok)} of {paced.due} "
        f"due posts answered, {paced.skipped} skipped (pool busy), {len(failed)} failed"
    )
    print(f"  request p50 {ms(pct(latencies, 0.5))}  p99 {ms(pct(latencies, 0.99))}")
    if paced.skipped or failed:
        print(f"  NOT every due post was served: {paced.skipped} found every connection busy, {len(failed)} failed")
    if failed:
        print(f"  first failure: {failed[0]}")
    missing = len(ok) - len(paced.lags)
    if paced.lags:
        print(
            f"  relay lag (HTTP response -> consumable on topic): p50 {ms(statistics.median(paced.lags))}"
            f"  p99 {ms(pct(paced.lags, 0.99))}  max {ms(max(paced.lags))}"
            f"  (goal p99 <= 100 ms; missing {missing})"
        )
    else:
        print(f"  relay lag: no posted message reached the topic (missing {missing})")


@dataclass
class StoreFigures:
    """Every figure of one event store."""

    label: str
    durability: str
    raw_many: float
    raw_one: float
    many: Throughput
    one: Throughput
    paced: list[Paced]
    workers_many: Throughput
    workers_one: Throughput
    server: dict[str, str]


class PostgresDatabases:
    """Throw-away databases on the configured PostgreSQL server (POSTGRES_*), dropped at the end."""

    def __init__(self) -> None:
        self.base = Settings()
        self.names: list[str] = []

    def create(self) -> Settings:
        """A new empty database, as the service's settings."""
        name = create_database(self.base.postgres_conninfo(), "ordertalk_bench")
        self.names.append(name)
        return Settings(EVENT_STORE="postgres", POSTGRES_DB=name)

    def drop_all(self) -> None:
        """Drop every database this made."""
        for name in self.names:
            drop_database(self.base.postgres_conninfo(), name)


def ready_probe(url: str) -> Callable[[], bool]:
    """True once ``url``/readyz answers 200."""

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


async def bench_store(
    label: str, raw_settings: Settings, service_env: dict[str, str], kafka: KafkaSettings, var: Path
) -> StoreFigures:
    """Raw appends, then the service on the same kind of store: one process (every phase), then WORKERS."""
    raw_many, raw_one, durability = await asyncio.to_thread(raw_store_rates, raw_settings)
    env = dict(os.environ) | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_ENABLE_IDEMPOTENCE": "false",
        "AUTH_JWT_SECRET": SECRET,
        "ORDERS_CONSUMER_GROUP": f"bench-{uuid.uuid4().hex[:8]}",
        "RATE_LIMIT_WRITES_PER_SECOND": "0",  # thousands of posts a second from a few tokens: no write limit
    }
    for name in ("SQLITE_SYNCHRONOUS", "AGGREGATE_CACHE_MAXSIZE", "RELAY_BATCH_SIZE", "RELAY_POLL_SECONDS"):
        env.pop(name, None)  # the service runs with its defaults, as the raw store does
    env |= service_env
    codec = TokenCodec(AuthSettings(jwt_secret=SECRET))
    headers = {"Authorization": f"Bearer {codec.mint(Principal('admin', 'bench', 'Bench Admin'))}"}
    post_headers = headers | {"Content-Type": "application/json"}
    orders = [f"bench-{i:05d}" for i in range(MANY_ORDERS)]
    log_name = label.split()[0].lower()

    def start(workers: int) -> tuple[ManagedProcess, int]:
        port = free_port()
        argv = python_argv(
            "-m", "ordertalk_messaging", "serve", "--port", str(port), "--log-level", "warning",
            "--workers", str(workers),
        )  # fmt: skip
        log_path = var / "log" / f"messaging-{log_name}-{workers}.log"
        service = ManagedProcess(f"messaging-{log_name}-{workers}", argv, log_path, env=env)
        service.start(ready_probe(f"http://127.0.0.1:{port}"), 60.0)
        return service, port

    # The service as `make run` starts it (one process, the relay inside) for every phase, then
    # WORKERS API processes and the relay beside them on the same store, closed-loop only.
    service, port = await asyncio.to_thread(start, 1)
    try:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=5) as setup_client:
            server = (await setup_client.get("/readyz")).json().get("server", {})
        if server != {"loop": "uvloop", "http": "httptools"}:
            print(f"WARNING: the service does not run on uvloop + httptools: {server}")
        await register_orders(url, kafka, headers, orders)
        connect = partial(Connection, "127.0.0.1", port, post_headers)
        many = await throughput_phase(connect, orders, service.pid or 0)
        one = await throughput_phase(connect, orders[:1], service.pid or 0)
        arrivals = Arrivals(kafka)  # consumes (and parses) the topic only while lags are measured
        await arrivals.start()
        paced_runs = [await paced_phase(connect, orders, arrivals, rate) for rate in PACED_RATES]
        await arrivals.stop()
    finally:
        service.stop()
    service, port = await asyncio.to_thread(start, WORKERS)
    try:
        connect = partial(Connection, "127.0.0.1", port, post_headers)
        workers_many = await throughput_phase(connect, orders, service.pid or 0)
        workers_one = await throughput_phase(connect, orders[:1], service.pid or 0)
    finally:
        service.stop()
    return StoreFigures(label, durability, raw_many, raw_one, many, one, paced_runs, workers_many, workers_one, server)


async def http_floor(var: Path) -> Throughput:
    """The closed-loop phase against bench/floor_app.py: the framework and the load client, no work at all."""
    port = free_port()
    argv = python_argv(
        "-m", "uvicorn", "floor_app:app", "--app-dir", str(Path(__file__).parent), "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    )  # fmt: skip
    floor = ManagedProcess("http-floor", argv, var / "log" / "http-floor.log")
    try:
        await asyncio.to_thread(floor.start, ready_probe(f"http://127.0.0.1:{port}"), 60.0)
        headers = {"Authorization": "Bearer floor", "Content-Type": "application/json"}
        orders = [f"bench-{i:05d}" for i in range(MANY_ORDERS)]
        return await throughput_phase(lambda: Connection("127.0.0.1", port, headers), orders, floor.pid or 0)
    finally:
        floor.stop()


def report_store(figures: StoreFigures) -> None:
    """Print one store's figures."""
    print()
    print(f"=== {figures.label}: {figures.durability}")
    print(f"raw event-store append, {MANY_ORDERS} threads (app, sequential): {figures.raw_many:8.0f} posts/s")
    print(f"raw event-store append, 1 thread (app, sequential):   {figures.raw_one:8.0f} posts/s")
    report_throughput(f"{MANY_ORDERS} threads:", figures.many, figures.raw_many)
    report_throughput("1 thread:", figures.one, figures.raw_one)
    for paced in figures.paced:
        report_paced(paced)
    print(f"--- serve --workers {WORKERS} (API processes on one port, the relay in a process beside them):")
    report_throughput(f"{MANY_ORDERS} threads, {WORKERS} workers:", figures.workers_many, figures.raw_many)
    report_throughput(f"1 thread, {WORKERS} workers:", figures.workers_one, figures.raw_one)


@contextlib.asynccontextmanager
async def fresh_broker(var: Path, name: str) -> AsyncIterator[tuple[KafkaSettings, float]]:
    """A new stand-in broker with the topics, and its raw produce rate.

    Each store's phases get their own: the stand-in slows down as its topics fill, so the second
    store's relay lag would otherwise carry the first store's events (p99 26 ms first, 57 ms second).
    """
    port = free_port()
    broker = start_kafka(port, var / "log" / name)
    try:
        kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", enable_idempotence=False, topic_partitions=6)
        await ensure_topics(kafka, [*ALL_TOPICS, "bench.raw"])
        yield kafka, await raw_broker_rate(kafka)
    finally:
        broker.stop()


async def main() -> None:
    """Run every phase on each store of BENCH_STORES (default "sqlite,postgres") and print the figures."""
    var = Path(tempfile.mkdtemp(prefix="bench-write-"))
    bench_started = time.perf_counter()
    bench_loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    stores = [s.strip() for s in os.environ.get("BENCH_STORES", "sqlite,postgres").split(",") if s.strip()]
    results: list[tuple[StoreFigures, float]] = []
    skipped: list[str] = []
    postgres = PostgresDatabases()
    try:
        print(f"work dir {var}", flush=True)
        floor = await http_floor(var)
        for store in stores:
            if store == "sqlite":
                raw = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=var / "raw.sqlite")
                env = {"EVENT_STORE": "sqlite", "EVENT_STORE_SQLITE_PATH": str(var / "service.sqlite")}
                label = "SQLite (the local default)"
            elif store == "postgres":
                try:
                    raw, served = postgres.create(), postgres.create()
                except Exception as exc:  # no server: say so and go on with the other stores
                    skipped.append(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
                    continue
                env = {"EVENT_STORE": "postgres", "POSTGRES_DB": served.postgres_db}
                label = "PostgreSQL (production store)"
            else:
                skipped.append(f"unknown store {store!r} in BENCH_STORES")
                continue
            async with fresh_broker(var, store) as (kafka, broker_rate):
                results.append((await bench_store(label, raw, env, kafka, var), broker_rate))
    finally:
        if postgres.names:
            postgres.drop_all()
    servers = {f"loop={r.server.get('loop')} http={r.server.get('http')}" for r, _ in results}
    print()
    print(f"service: {', '.join(sorted(servers))}; bench client loop={bench_loop}")
    print(
        f"HTTP floor (bench/floor_app.py: the post route doing nothing, same client): {floor.rate:8.0f} posts/s,"
        f" CPU per post: server {ms(floor.service_cpu / max(floor.posts, 1))},"
        f" load client {ms(floor.client_cpu / max(floor.posts, 1))}"
    )
    for figures, broker_rate in results:
        report_store(figures)
        print(f"  raw broker produce (aiokafka, acks=all, a new broker for this store): {broker_rate:8.0f} records/s")
        print(f"  ratio HTTP / raw broker ({MANY_ORDERS} threads): {figures.many.rate / broker_rate:.3f}")
        print(
            f"  ratio HTTP floor / raw store: {floor.rate / figures.raw_many:.2f} (what a service that stored"
            " nothing could reach)"
        )
    for line in skipped:
        print(line)
    print()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (others' work included)")
    print(f"bench took {time.perf_counter() - bench_started:.0f}s")


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())  # the load client's loop is cheaper too
