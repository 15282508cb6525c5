"""Write-side benchmark: HTTP posts/s and latency, relay lag, beside raw store and raw broker rates.

Starts its own stand-in broker and the messaging service (free ports, temporary directory) and prints
figures; it is not a timed test. Run with ``make bench-write`` or ``.venv/bin/python bench/write.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ordertalk_contracts import ORDERS, THREAD_EVENTS, Customer, MessagePostedV1, OrderRegisteredV1, dump, parse
from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv
from ordertalk_devstack.servers import start_kafka
from ordertalk_messaging.application import Caller, NewOrder, ThreadService
from ordertalk_messaging.bootstrap import open_store, tables_for
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.settings import Settings
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics

SECRET = "bench-secret-0123456789abcdef-0123"
ORDERS_COUNT = 20
CLIENTS = 32
THROUGHPUT_SECONDS = 8.0
PACED_RATE = 200
PACED_SECONDS = 8.0
RAW_STORE_POSTS = 3000
RAW_BROKER_RECORDS = 20000


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def raw_store_rate(path: Path) -> float:
    """Posts per second through the application layer directly (no HTTP), sequential."""
    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=path)
    store = open_store(settings)
    service = ThreadService(store, tables_for(store, settings))
    admin = Caller(Participant("admin", "bench", "Bench"))
    for i in range(ORDERS_COUNT):
        service.register_order(NewOrder(f"raw-{i}", f"#{i:05d}", "customer-1", "Jane", "jane@example.com"), None)
    started = time.perf_counter()
    for i in range(RAW_STORE_POSTS):
        service.post_message(f"raw-{i % ORDERS_COUNT}", admin, uuid.uuid4(), f"message {i}", None)
    rate = RAW_STORE_POSTS / (time.perf_counter() - started)
    store.close()
    return rate


async def raw_broker_rate(kafka: KafkaSettings) -> float:
    """Records per second one aiokafka producer gets acknowledged (acks=all), keyed like the relay."""
    producer = AIOKafkaProducer(**kafka.producer_kwargs(), linger_ms=0)
    await producer.start()
    try:
        value = b"x" * 400
        started = time.perf_counter()
        pending = [
            await producer.send("bench.raw", value, key=str(i % ORDERS_COUNT).encode())
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


async def post(client: httpx.AsyncClient, headers: dict[str, str], order_id: str) -> tuple[str, float, float]:
    """One post with a fresh message id and Idempotency-Key: (message id, latency, response time)."""
    message_id = str(uuid.uuid4())
    started = time.perf_counter()
    r = await client.post(
        f"/v1/orders/{order_id}/messages",
        json={"body": "benchmark message", "message_id": message_id},
        headers=headers | {"Idempotency-Key": message_id},
    )
    done = time.perf_counter()
    if r.status_code != 201:
        raise RuntimeError(f"post failed: {r.status_code} {r.text}")
    return message_id, done - started, done


async def throughput_phase(url: str, headers: dict[str, str], orders: list[str]) -> tuple[int, float, list[float]]:
    """CLIENTS concurrent clients posting as fast as they can for THROUGHPUT_SECONDS."""
    latencies: list[float] = []
    deadline = time.perf_counter() + THROUGHPUT_SECONDS
    limits = httpx.Limits(max_connections=CLIENTS)

    async def client_loop(n: int) -> int:
        count = 0
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            while time.perf_counter() < deadline:
                _, latency, _ = await post(client, headers, orders[(n + count) % len(orders)])
                latencies.append(latency)
                count += 1
        return count

    started = time.perf_counter()
    counts = await asyncio.gather(*(client_loop(n) for n in range(CLIENTS)))
    return sum(counts), time.perf_counter() - started, latencies


async def paced_phase(
    url: str, headers: dict[str, str], orders: list[str], arrivals: Arrivals
) -> tuple[int, list[float], list[float]]:
    """PACED_RATE posts per second for PACED_SECONDS; lag = arrival on the topic - HTTP response."""
    results: list[tuple[str, float, float]] = []
    total = int(PACED_RATE * PACED_SECONDS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        started = time.perf_counter()
        tasks = []
        for i in range(total):
            due = started + i / PACED_RATE
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load, not waiting for a condition
            tasks.append(asyncio.create_task(post(client, headers, orders[i % len(orders)])))
        results = await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and not all(m in arrivals.seen for m, _, _ in results):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    lags = [arrivals.seen[m] - done for m, _, done in results if m in arrivals.seen]
    return total - len(lags), [lat for _, lat, _ in results], lags


async def main() -> None:
    """Run every phase and print the figures."""
    var = Path(tempfile.mkdtemp(prefix="bench-write-"))
    kafka_port = free_port()
    broker = start_kafka(kafka_port, var / "log")
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{kafka_port}", enable_idempotence=False, topic_partitions=6)
    service: ManagedProcess | None = None
    try:
        await ensure_topics(kafka, [*ALL_TOPICS, "bench.raw"])
        print(f"work dir {var}")
        store_rate = await asyncio.to_thread(raw_store_rate, var / "raw.sqlite")
        broker_rate = await raw_broker_rate(kafka)

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": "false",
            "EVENT_STORE": "sqlite",
            "EVENT_STORE_SQLITE_PATH": str(var / "service.sqlite"),
            "AUTH_JWT_SECRET": SECRET,
        }
        argv = python_argv("-m", "ordertalk_messaging", "serve", "--port", str(port), "--log-level", "warning")
        service = ManagedProcess("messaging", argv, var / "log" / "messaging.log", env=env)

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200
            except httpx.HTTPError:
                return False

        await asyncio.to_thread(service.start, ready, 60.0)
        orders = [f"bench-{i}" for i in range(ORDERS_COUNT)]
        producer = AIOKafkaProducer(**kafka.producer_kwargs())
        await producer.start()
        for oid in orders:
            event = OrderRegisteredV1(
                event_id=uuid.uuid4(),
                occurred_at=datetime.now(UTC),
                order_id=oid,
                order_number=f"#{oid[-5:]}",
                customer=Customer(id="customer-1", name="Jane Doe", email="jane@example.com"),
            )
            await producer.send_and_wait(ORDERS, dump(event), key=oid.encode())
        await producer.stop()
        codec = TokenCodec(AuthSettings(jwt_secret=SECRET))
        headers = {"Authorization": f"Bearer {codec.mint(Principal('admin', 'bench', 'Bench Admin'))}"}
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            deadline = time.perf_counter() + 60
            for oid in orders:
                while (await client.get(f"/v1/orders/{oid}/history", headers=headers)).status_code != 200:
                    if time.perf_counter() > deadline:
                        raise RuntimeError("orders never became known to the service")
                    await asyncio.sleep(0.1)

        arrivals = Arrivals(kafka)
        await arrivals.start()
        posts, seconds, latencies = await throughput_phase(url, headers, orders)
        http_rate = posts / seconds
        missing, paced_latencies, lags = await paced_phase(url, headers, orders, arrivals)
        await arrivals.stop()

        ms = 1000.0
        print()
        print(f"raw event-store append (app layer, sequential, SQLite): {store_rate:8.0f} posts/s")
        print(f"raw broker produce (aiokafka, acks=all):                {broker_rate:8.0f} records/s")
        print(
            f"HTTP posts ({CLIENTS} clients, {THROUGHPUT_SECONDS:.0f}s):                     {http_rate:8.0f} posts/s"
            f"  p50 {pct(latencies, 0.5) * ms:.1f} ms  p99 {pct(latencies, 0.99) * ms:.1f} ms  ({posts} posts)"
        )
        print(f"  ratio HTTP / raw store: {http_rate / store_rate:.2f}  (goal >= 0.50)")
        print(f"  ratio HTTP / raw broker: {http_rate / broker_rate:.2f}")
        print(
            f"paced {PACED_RATE}/s for {PACED_SECONDS:.0f}s: request p50 {pct(paced_latencies, 0.5) * ms:.1f} ms"
            f"  p99 {pct(paced_latencies, 0.99) * ms:.1f} ms"
        )
        print(
            f"  relay lag (HTTP response -> consumable on topic): p50 {statistics.median(lags) * ms:.1f} ms"
            f"  p99 {pct(lags, 0.99) * ms:.1f} ms  max {max(lags) * ms:.1f} ms  (goal p99 <= 100 ms; missing {missing})"
        )
    finally:
        if service is not None:
            service.stop()
        broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
