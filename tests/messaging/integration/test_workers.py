"""``serve --workers 2``: two API processes share the port, one relay publishes, and they stop together."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.messaging.conftest import announce_orders, bearer, new_order, read_topic, service_env
from tests.support.polling import wait_for

from ordertalk_contracts import MessagePostedV1, parse_thread_event
from ordertalk_contracts.topics import THREAD_EVENTS
from ordertalk_devstack.processes import ManagedProcess, descendants, free_port, python_argv
from ordertalk_runtime.kafka import KafkaSettings

ADMIN = bearer("admin", "admin-1", "Admin Admin")
CLIENTS, EACH = 16, 5


def children_of(pid: int) -> set[int]:
    """The live processes ``pid`` started (and theirs)."""
    return {stat.pid for stat in descendants(pid)}


def gone(pids: set[int]) -> bool:
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)


@pytest.fixture
def workers(kafka_settings: KafkaSettings, tmp_path: Path) -> Iterator[tuple[str, ManagedProcess, Path]]:
    port, log_path = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200 and len(children_of(proc.pid or 0)) == 3
        except httpx.HTTPError:
            return False

    argv = python_argv("-m", "ordertalk_messaging", "serve", "--workers", "2", "--port", str(port))
    proc = ManagedProcess("messaging-workers", argv, log_path, env=service_env(kafka_settings, tmp_path / "es.sqlite"))
    proc.start(ready, timeout=60)
    try:
        yield url, proc, log_path
    finally:
        proc.stop()


async def test_two_workers_share_the_port_and_one_relay_publishes_every_post_once_in_order(
    workers: tuple[str, ManagedProcess, Path], kafka_settings: KafkaSettings
) -> None:
    url, proc, log_path = workers
    order = new_order()
    await announce_orders(kafka_settings, order)
    path = f"/v1/orders/{order.order_id}/messages"

    async def known() -> bool:
        async with httpx.AsyncClient(base_url=url) as client:
            return (await client.get(f"/v1/orders/{order.order_id}/history", headers=ADMIN)).status_code == 200

    await asyncio.get_running_loop().run_in_executor(
        None, lambda: wait_for(lambda: asyncio.run(known()), timeout=30, what="the order's thread")
    )

    async def poster(n: int) -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:  # a connection of its own
            seqs = []
            for i in range(EACH):
                answer = await client.post(path, json={"body": f"{n}/{i}"}, headers=ADMIN)
                assert answer.status_code == 201, answer.text
                seqs.append(answer.json()["seq"])
            return seqs

    results = await asyncio.gather(*(poster(n) for n in range(CLIENTS)))
    assert sorted(s for r in results for s in r) == list(range(1, CLIENTS * EACH + 1))

    async def published() -> list[MessagePostedV1]:
        events = [parse_thread_event(v) for k, v, _ in await read_topic(kafka_settings, THREAD_EVENTS)]
        return [e for e in events if isinstance(e, MessagePostedV1) and e.order_id == order.order_id]

    await asyncio.get_running_loop().run_in_executor(
        None,
        lambda: wait_for(lambda: len(asyncio.run(published())) >= CLIENTS * EACH, timeout=30, what="publishing"),
    )
    posts = await published()
    assert [e.thread_version for e in posts] == list(range(2, CLIENTS * EACH + 2))  # once each, in order

    def answered_by_both() -> set[int] | None:  # access log lines reach the file within 0.2 s
        pids = {
            entry["pid"]
            for entry in map(json.loads, (line for line in log_path.read_text().splitlines() if line.startswith("{")))
            if str(entry.get("msg", "")).startswith(f"POST {path} 201")
        }
        return pids if len(pids) == 2 else None

    children = children_of(proc.pid or 0)
    assert wait_for(answered_by_both, timeout=10, what="answers from both workers") <= children
    proc.stop()  # SIGTERM: the supervisor stops them all and says it went well
    assert proc.popen is not None and proc.popen.returncode == 0
    assert gone(children)


def test_a_process_that_dies_stops_the_others(workers: tuple[str, ManagedProcess, Path]) -> None:
    _, proc, _ = workers
    assert proc.popen is not None
    children = children_of(proc.popen.pid)
    os.kill(min(children), signal.SIGKILL)  # a worker (or the relay) dies on its own
    assert proc.popen.wait(30) == 1  # the supervisor stopped the others and says it failed
    wait_for(lambda: gone(children), timeout=30, what="the other processes to stop")
