"""`ordertalk-ops recover`: bring the system back after its broker lost the topics (wiped, or topics deleted).

1. Topics: each of the system's topics is created with the configured partition count; one the broker
   re-created with another count is deleted first (the orders topic only if it holds no record, or with
   ``--drop-orders``: its records are the shop's and cannot be restored from here).
2. Consumer groups: on the new, empty topics each group is committed at offset 0 on every partition, so it
   reads everything re-published. A group with live members refuses a commit from outside; those members
   find no committed offset on the new topic and start from the earliest one themselves.
3. Thread events: the relay re-publishes the whole store by itself when it finds its topic empty after
   having published (``ordertalk_messaging.adapters.relay``); the tool waits until the topic holds at least the
   store's event count. With ``--republish``, or when the messaging service does not answer, the tool
   re-publishes the store itself (``replay``). Copies are harmless: the read sides are version-guarded and
   the notifier's outbox keeps one e-mail per (event, recipient).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import httpx
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from ordertalk_contracts.topics import ALL_TOPICS, ORDERS, THREAD_EVENTS
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.offsets import commit_offsets, committed_offsets, end_offsets
from ordertalk_runtime.topics import KafkaTopicProbe

Action = Literal["ok", "create", "recreate", "refuse"]
# Which topic each service's group consumes: (group's variable, its default name, topic).
GROUP_TOPICS: tuple[tuple[str, str, str], ...] = (
    ("ORDERS_CONSUMER_GROUP", "ordertalk-messaging-orders", ORDERS),
    ("PROJECTIONS_GROUP", "ordertalk-projections", THREAD_EVENTS),
    ("NOTIFIER_CONSUMER_GROUP", "ordertalk-notifier", THREAD_EVENTS),
)
SERVICE_URLS = (("messaging", "MESSAGING_URL"), ("projections", "PROJECTIONS_URL"), ("notifier", "NOTIFIER_URL"))


@dataclass(frozen=True, slots=True)
class TopicStep:
    """What recovery does with one topic, and why."""

    topic: str
    action: Action
    why: str


def plan_topics(
    expected: Mapping[str, int], found: Mapping[str, int | None], records: Mapping[str, int], *, drop_orders: bool
) -> list[TopicStep]:
    """Pure: create the missing topics, re-create the mis-partitioned ones (the shop's orders only if empty)."""
    steps: list[TopicStep] = []
    for topic, partitions in expected.items():
        actual = found.get(topic)
        if actual is None:
            steps.append(TopicStep(topic, "create", f"missing; create with {partitions} partitions"))
        elif actual == partitions:
            steps.append(TopicStep(topic, "ok", f"{partitions} partitions"))
        elif topic == ORDERS and records.get(topic, 0) > 0 and not drop_orders:
            why = (
                f"{actual} partitions, configured {partitions}, and it holds {records[topic]} of the shop's records:"
                " left as it is (--drop-orders deletes them)"
            )
            steps.append(TopicStep(topic, "refuse", why))
        else:
            held = records.get(topic, 0)
            steps.append(
                TopicStep(topic, "recreate", f"{actual} partitions, configured {partitions}; {held} records dropped")
            )
    return steps


def group_topics(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (group, topic) pairs of the services, each group named as its service names it."""
    return [(environ.get(variable, default), topic) for variable, default, topic in GROUP_TOPICS]


async def _records(settings: KafkaSettings, probe: KafkaTopicProbe, found: Mapping[str, int | None]) -> dict[str, int]:
    return {t: await probe.end_offsets_total(t, n) for t, n in found.items() if n}


async def fix_topics(settings: KafkaSettings, *, drop_orders: bool, say: Callable[[str], None]) -> bool:
    """Step 1; False if a topic was left wrong (refused)."""
    expected = {t: settings.topic_partitions for t in ALL_TOPICS}
    probe = KafkaTopicProbe(settings)
    admin = AIOKafkaAdminClient(**settings.client_kwargs())
    await admin.start()
    try:
        for _attempt in range(5):
            found = await probe.partitions(list(expected))
            steps = plan_topics(expected, found, await _records(settings, probe, found), drop_orders=drop_orders)
            for step in steps:
                say(f"topic {step.topic}: {step.action} ({step.why})")
            doomed = [s.topic for s in steps if s.action == "recreate"]
            if doomed:
                await admin.delete_topics(doomed)
                await _until(partial(_all_gone, probe, doomed), 30, "deleted topics to go")
            new = [s.topic for s in steps if s.action in ("create", "recreate")]
            try:
                if new:
                    await admin.create_topics([NewTopic(t, expected[t], settings.topic_replication) for t in new])
            except TopicAlreadyExistsError:
                say("a topic was created meanwhile (by another client); looking again")
                continue
            found = await probe.partitions(list(expected))
            wrong = [t for t, n in expected.items() if found.get(t) != n]
            refused = {s.topic for s in steps if s.action == "refuse"}
            if not set(wrong) - refused:
                return not refused
            say(f"still wrong: {', '.join(wrong)}; looking again")
        return False
    finally:
        await admin.close()
        await probe.close()


async def _all_gone(probe: KafkaTopicProbe, topics: Sequence[str]) -> bool:
    found = await probe.partitions(list(topics))
    return all(found.get(t) is None for t in topics)


async def _until(condition: Callable[[], object], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while True:
        outcome = condition()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within:.0f}s for {what}")
        await asyncio.sleep(0.2)


async def realign_groups(settings: KafkaSettings, pairs: Sequence[tuple[str, str]], say: Callable[[str], None]) -> None:
    """Step 2: commit offset 0 on every partition where a group has no offset, or one beyond the topic's end."""
    for group, topic in pairs:
        tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        ends = await end_offsets(settings, tps)
        committed = await committed_offsets(settings, group, tps)
        stale = [tp for tp in tps if committed[tp] is None or (committed[tp] or 0) > ends[tp]]
        if not stale:
            say(f"group {group} on {topic}: offsets within the topic, kept")
            continue
        try:
            await commit_offsets(settings, group, dict.fromkeys(stale, 0))
            say(f"group {group} on {topic}: committed offset 0 on {len(stale)} partition(s)")
        except KafkaError as exc:
            say(
                f"group {group} on {topic}: has live members ({type(exc).__name__}); with no offset on the"
                " new topic they start from its earliest record"
            )


def store_head(messaging_url: str) -> int | None:
    """The store's last position, as the messaging service's /readyz tells it (None if it does not answer)."""
    try:
        body = httpx.get(f"{messaging_url}/readyz", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    position = body.get("last_position") if isinstance(body, dict) else None
    return position if isinstance(position, int) else None


async def wait_republished(settings: KafkaSettings, head: int, within: float, say: Callable[[str], None]) -> None:
    """Step 3: wait until the thread-events topic holds at least ``head`` records."""
    probe = KafkaTopicProbe(settings)
    held = 0

    async def enough() -> bool:
        nonlocal held
        held = await probe.end_offsets_total(THREAD_EVENTS, settings.topic_partitions)
        return held >= head

    try:
        await _until(enough, within, f"{head} thread events on {THREAD_EVENTS}")
    finally:
        await probe.close()
    say(f"{THREAD_EVENTS} holds {held} records for the store's {head} events")


def republish_here(say: Callable[[str], None]) -> int:
    """Re-publish the whole store from this shell (the messaging service's replay, on the same settings)."""
    say("re-publishing the store from here (replay --from 1)")
    return subprocess.run(
        [sys.executable, "-m", "ordertalk_messaging", "replay", "--from", "1"], check=False
    ).returncode


def service_readiness(environ: Mapping[str, str]) -> list[str]:
    """One line per service: ready, or why not."""
    lines = []
    for name, variable in SERVICE_URLS:
        url = environ.get(variable)
        if not url:
            continue
        try:
            response = httpx.get(f"{url}/readyz", timeout=5)
            reasons = response.json().get("reasons", []) if response.status_code == 503 else []
            lines.append(f"{name}: {'ready' if response.status_code == 200 else f'503 {reasons}'}")
        except (httpx.HTTPError, ValueError) as exc:
            lines.append(f"{name}: no answer ({type(exc).__name__})")
    return lines


async def _services_ready(environ: Mapping[str, str], within: float) -> list[str]:
    deadline = time.monotonic() + within
    while True:
        lines = await asyncio.to_thread(service_readiness, environ)
        if all(line.endswith("ready") for line in lines) or time.monotonic() > deadline:
            return lines
        await asyncio.sleep(0.5)


def recover(*, drop_orders: bool, republish: bool, wait_seconds: float) -> int:
    """Run the three steps against the configured broker and services; 0 when everything is back."""

    def say(line: str) -> None:
        print(line, flush=True)

    settings = KafkaSettings()
    environ = dict(os.environ)
    if not asyncio.run(fix_topics(settings, drop_orders=drop_orders, say=say)):
        say("not recovered: a topic is left wrong (see above)")
        return 1
    asyncio.run(realign_groups(settings, group_topics(environ), say))
    head = store_head(environ.get("MESSAGING_URL", ""))
    if republish or head is None:
        if head is None:
            say("the messaging service does not answer: its relay cannot re-publish")
        if republish_here(say) != 0:
            say("not recovered: the replay failed")
            return 1
    else:
        say(f"the relay re-publishes the store ({head} events) by itself; waiting")
        try:
            asyncio.run(wait_republished(settings, head, wait_seconds, say))
        except TimeoutError as exc:
            say(f"not recovered: {exc} (is the relay running? `ordertalk-ops recover --republish` publishes from here)")
            return 1
    for line in asyncio.run(_services_ready(environ, wait_seconds)):
        say(line)
    say(
        f"note: records the shop put on {ORDERS} that messaging had not registered before the loss are gone from"
        " Kafka: the shop must announce them again (a known order is ignored). Dead letters are gone too."
    )
    return 0
