"""Benchmark of the notifier: event-to-bell-alert latency at a steady rate, and e-mails per second.

Starts its own broker (Tansu), MongoDB-wire server (nx-27017), SMTP catcher and one notifier process on free
ports, produces contract events straight to the thread-events topic, and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaProducer  # noqa: E402
from tests.notifier.events import ADMIN, ThreadBuilder  # noqa: E402
from tests.notifier.harness import ADMIN_TOKEN, NotifierProcess, bell_stream, outbox_rows  # noqa: E402

from ordertalk_contracts import dump  # noqa: E402
from ordertalk_contracts.topics import THREAD_EVENTS  # noqa: E402
from ordertalk_devstack.processes import free_port  # noqa: E402
from ordertalk_devstack.servers import start_kafka, start_mailcatcher, start_mongo  # noqa: E402
from ordertalk_runtime.kafka import KafkaSettings  # noqa: E402


async def until(condition: Callable[[], bool], within: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` (in a worker thread: it may touch files or MongoDB) until it holds or time runs out."""
    deadline = time.perf_counter() + within
    while True:
        if await asyncio.to_thread(condition):
            return True
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(interval)


def mail_count(maildir: Path) -> int:
    """How many e-mails the catcher stored."""
    return len(list(maildir.glob("*.eml")))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def latency(notifier: NotifierProcess, kafka: KafkaSettings, rate: float, seconds: float) -> list[float]:
    """Produce ``rate`` events/s for ``seconds``; answer each admin alert's delay after its event was sent (s)."""
    threads = [ThreadBuilder(order_number=f"#{n:05d}") for n in range(200)]
    producer = AIOKafkaProducer(**kafka.producer_kwargs(), linger_ms=0)
    await producer.start()
    sent_at: dict[int, float] = {}
    got: dict[int, float] = {}
    try:
        for t in threads:
            started = t.started()
            await producer.send_and_wait(THREAD_EVENTS, dump(started), key=t.order_id.encode())
        async with bell_stream(notifier.url, ADMIN_TOKEN) as stream:
            await stream.next(5)
            warm = threads[0].message(threads[0].customer)
            await producer.send_and_wait(THREAD_EVENTS, dump(warm), key=warm.order_id.encode())
            await stream.until(lambda a: a["position"] == warm.position, within=60)

            async def receive() -> None:
                while True:
                    alert = await stream.next(30)
                    if alert["position"] in sent_at:
                        got[alert["position"]] = time.perf_counter()

            receiver = asyncio.create_task(receive())
            total = int(rate * seconds)
            start = time.perf_counter()
            for i in range(total):
                t = threads[i % len(threads)]
                by_store = i % 3 == 0  # the admin's bell says nothing about the store's own messages
                event = t.message(ADMIN if by_store else t.customer, f"benchmark message {i}")
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not by_store:
                    sent_at[event.position] = time.perf_counter()
                await producer.send(THREAD_EVENTS, dump(event), key=event.order_id.encode())
            await until(lambda: len(got) >= len(sent_at), 30)
            receiver.cancel()
        missing = len(sent_at) - len(got)
        if missing:
            print(f"  {missing} alerts did not arrive within 30 s")
        return [got[p] - sent_at[p] for p in got]
    finally:
        await producer.stop()


async def emails(notifier: NotifierProcess, kafka: KafkaSettings, mongo_url: str, maildir: Path, count: int) -> float:
    """Produce ``count`` e-mail-causing events at once; answer e-mails per second until all are in the catcher."""
    threads = [ThreadBuilder() for _ in range(count)]
    # let the e-mails of the latency run go out first
    await until(lambda: not outbox_rows(mongo_url, notifier.mongo_db, status="pending"), 120, 0.5)
    before = await asyncio.to_thread(mail_count, maildir)
    producer = AIOKafkaProducer(**kafka.producer_kwargs(), linger_ms=5)
    await producer.start()
    try:
        for t in threads:
            await producer.send(THREAD_EVENTS, dump(t.started()), key=t.order_id.encode())
        start = time.perf_counter()
        for t in threads:
            await producer.send(THREAD_EVENTS, dump(t.message(t.customer)), key=t.order_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    await until(lambda: mail_count(maildir) >= before + count, 120, 0.1)
    elapsed = time.perf_counter() - start
    delivered = await asyncio.to_thread(mail_count, maildir) - before
    pending = len(outbox_rows(mongo_url, notifier.mongo_db, status="pending"))
    print(f"  {delivered}/{count} e-mails in {elapsed:.1f}s ({pending} still pending)")
    return delivered / elapsed


async def main() -> None:
    """Start the servers and the notifier, run both measurements, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--emails", type=int, default=1000)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    logs = var / "log"
    kafka_port, mongo_port, smtp_port = free_port(), free_port(), free_port()
    procs = [
        start_kafka(kafka_port, logs),
        start_mongo(mongo_port, None, logs),
        start_mailcatcher(smtp_port, var / "mail", logs),
    ]
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{kafka_port}", enable_idempotence=False, topic_partitions=3)
    mongo_url = f"mongodb://127.0.0.1:{mongo_port}"
    notifier = NotifierProcess(kafka, mongo_url, smtp_port, logs).start()
    try:
        print(f"notifier benchmark (logs in {logs}); events produced straight to Kafka (not via HTTP)")
        print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        delays = await latency(notifier, kafka, args.rate, args.seconds)
        ms = [d * 1000 for d in delays]
        print(
            f"event -> admin bell alert at {args.rate:.0f} events/s for {args.seconds:.0f}s: n={len(ms)} "
            f"p50={statistics.median(ms):.1f} ms p99={percentile(ms, 99):.1f} ms max={max(ms):.1f} ms"
        )
        rate = await emails(notifier, kafka, mongo_url, var / "mail", args.emails)
        print(f"e-mails sustained against the local SMTP catcher: {rate:.0f} per second")
        one, five, fifteen = os.getloadavg()
        print(f"load average (1, 5, 15 min): {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count() or 0} CPUs")
    finally:
        notifier.stop()
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    asyncio.run(main())
