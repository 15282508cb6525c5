"""A consumer SIGKILLed during a steady produce and started again resumes within 3 s (issue 13).

The consumer is a process of its own (``restart_member.py``, the project's consumer runtime) with the group
timing of ``KafkaSettings.consumer_group_kwargs``. On the local stand-in (Tansu) the group is dynamic with a
1 s session: Tansu holds every static member's JoinGroup and SyncGroup 3 s each, so static membership would
cost 6 s there. On a real Kafka (``KAFKA_BOOTSTRAP_SERVERS`` or ``TESTCONTAINERS=1``) the member is static
(KIP-345) with a 10 s session: the restarted member takes its partitions back without a rebalance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from tests.support.containers import use_containers

from ordertalk_runtime.kafka import KafkaSettings, ensure_topics

MEMBER = Path(__file__).with_name("restart_member.py")
GOLDEN = Path(__file__).parents[2] / "contracts" / "golden" / "v1" / "OrderRegistered.json"
RESUME_LIMIT_S = 3.0
RESTARTS = 3


def on_the_stand_in() -> bool:
    """True where the suite started its own Tansu (tests.support.kafka), not a configured or container Kafka."""
    return "KAFKA_BOOTSTRAP_SERVERS" not in os.environ and not use_containers()


def member_environment(kafka: KafkaSettings) -> dict[str, str]:
    """The consumer process's settings: this broker, and the group timing that resumes fastest on it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": kafka.security_protocol,
        "KAFKA_ENABLE_IDEMPOTENCE": str(kafka.enable_idempotence).lower(),
    }
    if on_the_stand_in():
        return env | {
            "KAFKA_STATIC_MEMBERSHIP": "false",
            "KAFKA_SESSION_TIMEOUT_MS": "1000",
            "KAFKA_HEARTBEAT_INTERVAL_MS": "300",
        }
    return env | {
        "KAFKA_STATIC_MEMBERSHIP": "true",
        "KAFKA_GROUP_INSTANCE_ID": f"restart-test-{uuid.uuid4().hex[:8]}",
        "KAFKA_SESSION_TIMEOUT_MS": "10000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "3000",
    }


def lines(out: Path) -> list[dict[str, float]]:
    """What a member wrote so far (a line cut short by the kill is skipped)."""
    found = []
    for line in out.read_text().splitlines() if out.exists() else []:
        with contextlib.suppress(json.JSONDecodeError):
            found.append(json.loads(line))
    return found


def records(out: Path) -> list[dict[str, float]]:
    """The records a member consumed so far, in order: ``t`` (wall clock), ``p`` (partition), ``o`` (offset)."""
    return [doc for doc in lines(out) if "o" in doc]


def mark(out: Path, name: str) -> float:
    """When a member wrote its mark ``name`` (``joining``: imports done, consumer starting)."""
    return next(doc[name] for doc in lines(out) if name in doc)


async def until_true(check: Callable[[], object], within: float, what: str) -> None:
    """Poll ``check()`` until it answers something true; AssertionError after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def steady_produce(kafka: KafkaSettings, topic: str, per_second: float) -> AsyncIterator[list[int]]:
    """Produce OrderRegistered events at ``per_second`` until the block ends; yields a one-item list, the count."""
    base = json.loads(GOLDEN.read_text())
    producer = AIOKafkaProducer(**kafka.producer_kwargs())
    await producer.start()
    sent = [0]
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            doc = base | {"event_id": str(uuid.uuid4()), "order_id": f"o-{sent[0] % 17}"}
            await producer.send_and_wait(topic, json.dumps(doc).encode(), key=doc["order_id"].encode())
            sent[0] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1 / per_second)

    task = asyncio.create_task(loop())
    try:
        yield sent
    finally:
        stop.set()
        await task
        await producer.stop()


def last_offsets(consumed: list[dict[str, float]]) -> dict[int, float]:
    """The last offset a member consumed on each partition."""
    return {int(doc["p"]): doc["o"] for doc in consumed}


def new_records(consumed: list[dict[str, float]], before: dict[int, float]) -> list[dict[str, float]]:
    """The records beyond the offsets ``before`` (what the killed member had not consumed)."""
    return [doc for doc in consumed if doc["o"] > before.get(int(doc["p"]), -1)]


def start_member(topic: str, group: str, out: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start one consumer process (its stderr to ``log``)."""
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, str(MEMBER), topic, group, str(out)], env=env, stdout=subprocess.DEVNULL, stderr=err
        )


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a member started here, by its pid, and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


async def test_a_consumer_killed_during_a_steady_produce_resumes_within_3_s(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    topic, group = f"restart-{uuid.uuid4().hex[:8]}", f"restart-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_settings, [topic])
    env = member_environment(kafka_settings)
    log = tmp_path / "members.log"
    resumes: list[float] = []  # the restarted consumer's start to its first new record: the group's delay
    spawns: list[float] = []  # the same from the process's spawn: the interpreter's start-up and imports too
    redelivered: list[int] = []  # records the killed member had consumed that the next one consumed again
    async with steady_produce(kafka_settings, topic, per_second=50) as sent:
        out = tmp_path / "member-0.jsonl"
        proc = start_member(topic, group, out, env, log)
        try:
            await until_true(lambda: len(records(out)) >= 20, 30, "the first member to consume 20 records")
            for n in range(1, RESTARTS + 1):
                seen = len(records(out))
                await until_true(lambda: len(records(out)) >= seen + 20, 10, "a steady consumption")  # noqa: B023
                kill(proc)
                before = last_offsets(records(out))
                out = tmp_path / f"member-{n}.jsonl"
                restarted = time.time()
                proc = start_member(topic, group, out, env, log)
                await until_true(lambda: new_records(records(out), before), 30, f"restart {n} to consume")  # noqa: B023
                consumed = records(out)
                first_new = new_records(consumed, before)[0]["t"]
                resumes.append(first_new - mark(out, "joining"))
                spawns.append(first_new - restarted)
                redelivered.append(len(consumed) - len(new_records(consumed, before)))
        finally:
            kill(proc)
    figures = ", ".join(f"{r:.2f} s" for r in resumes)
    membership = "dynamic, Tansu" if on_the_stand_in() else "static"
    print(f"\nrestarted consumer's start to its first new record ({membership}): {figures}")
    print("process spawn to first new record: " + ", ".join(f"{r:.2f} s" for r in spawns))
    print(f"consumed again after each kill (not yet committed): {redelivered}; {sent[0]} records produced")
    assert max(resumes) <= RESUME_LIMIT_S, f"a restarted consumer took {figures} to resume (limit 3 s)"


def test_the_group_arguments_give_each_consumer_of_a_static_process_its_own_instance_id() -> None:
    static = KafkaSettings(static_membership=True, group_instance_id="projections-1")
    assert static.consumer_group_kwargs("projections") == {
        "group_instance_id": "projections-1-projections",
        "session_timeout_ms": static.session_timeout_ms,
        "heartbeat_interval_ms": static.heartbeat_interval_ms,
    }
    assert static.consumer_group_kwargs("orders")["group_instance_id"] == "projections-1-orders"
    dynamic = KafkaSettings(static_membership=False, session_timeout_ms=1000, heartbeat_interval_ms=300)
    assert dynamic.consumer_group_kwargs("projections") == {
        "group_instance_id": None,
        "session_timeout_ms": 1000,
        "heartbeat_interval_ms": 300,
    }
    with pytest.raises(ValueError, match="HEARTBEAT"):
        KafkaSettings(session_timeout_ms=1000, heartbeat_interval_ms=1000).consumer_group_kwargs("x")
