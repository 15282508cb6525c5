"""The topic check: each topic a service uses exists with the configured partition count, at start and while running.

A broker that lost its topics (the local stand-in on every restart, or an operator's deletion) re-creates
them on the first request that names them, with its own default partition count; keyed records then land
on other partitions than before and consumers miss or reorder them. The check asks the broker's metadata
without creating anything, keeps a reason per bad topic for readiness, and sets the
``ordertalk_topic_ok{topic}`` gauge and the ``ordertalk_topic_mismatches_total{topic}`` counter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, for_code
from prometheus_client import Counter, Gauge

from ordertalk_runtime.kafka import KafkaSettings, NoAutoCreateMetadataRequest

log = logging.getLogger(__name__)
UNKNOWN_TOPIC_OR_PARTITION = 3
TOPIC_OK = Gauge("ordertalk_topic_ok", "1 if the topic exists with the configured partition count, else 0", ["topic"])
TOPIC_MISMATCHES = Counter(
    "ordertalk_topic_mismatches_total", "Times a topic was found missing or with another partition count", ["topic"]
)


def topic_problems(expected: Mapping[str, int], found: Mapping[str, int | None]) -> dict[str, str]:
    """Pure: a reason for each expected topic that is missing (``None``) or has another partition count."""
    problems: dict[str, str] = {}
    for topic, partitions in expected.items():
        actual = found.get(topic)
        if actual is None:
            problems[topic] = f"topic {topic} is missing (configured with {partitions} partitions)"
        elif actual != partitions:
            problems[topic] = f"topic {topic} has {actual} partitions, configured {partitions}"
    return problems


class TopicMismatch(Exception):
    """A topic is missing or has another partition count than configured."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = dict(problems)


class TopicProbe(Protocol):
    """Asks the broker about topics without ever creating one."""

    async def partitions(self, topics: Sequence[str]) -> dict[str, int | None]:
        """Partition count of each topic, ``None`` for a topic the broker does not have."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def partitions_of(response: Any) -> dict[str, int | None]:
    """Pure: partition counts from a metadata response (``None`` for unknown topics); other errors raise."""
    counts: dict[str, int | None] = {}
    for entry in response.topics:
        error_code, name, partitions = entry[0], entry[1], entry[-1]
        if error_code == UNKNOWN_TOPIC_OR_PARTITION:
            counts[name] = None
        elif error_code:
            raise for_code(error_code)(f"metadata of {name}")
        else:
            counts[name] = len(partitions)
    return counts


@dataclass
class KafkaTopicProbe:
    """TopicProbe on an aiokafka client (its own connection, or a producer's ``client``), connected lazily."""

    settings: KafkaSettings
    client: AIOKafkaClient | None = None
    _owned: bool = field(default=False, init=False)

    async def _connected(self) -> AIOKafkaClient:
        if self.client is None:
            client = AIOKafkaClient(**self.settings.client_kwargs())
            try:
                await client.bootstrap()
            except BaseException:
                await client.close()
                raise
            self.client, self._owned = client, True
        return self.client

    async def partitions(self, topics: Sequence[str]) -> dict[str, int | None]:
        """One metadata request naming ``topics``, with topic auto-creation off."""
        try:
            client = await self._connected()
            node = client.get_random_node()
            response = await client.send(node, NoAutoCreateMetadataRequest(list(topics), False))
            return partitions_of(response)
        except BaseException:
            if self._owned:
                await self.close()
            raise

    async def end_offsets_total(self, topic: str, partitions: int) -> int:
        """Sum of the partitions' end offsets: 0 for a topic nothing was ever written to (a short-lived consumer)."""
        consumer = AIOKafkaConsumer(**self.settings.client_kwargs(), enable_auto_commit=False)
        await consumer.start()
        try:
            ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
            return sum(max(int(offset), 0) for offset in ends.values())
        finally:
            await consumer.stop()

    async def close(self) -> None:
        """Close the client if this probe opened it."""
        client, owned = self.client, self._owned
        if owned:
            self.client, self._owned = None, False
            if client is not None:
                await client.close()


@dataclass
class TopicCheck:
    """The state of a service's topics: checked now and then, read by readiness and by the relay."""

    expected: dict[str, int]
    probe: TopicProbe
    problems: dict[str, str] = field(default_factory=dict, init=False)
    error: str | None = field(default=None, init=False)
    checked: bool = field(default=False, init=False)

    @classmethod
    def for_topics(cls, settings: KafkaSettings, topics: Sequence[str]) -> TopicCheck:
        """A check of ``topics``, each expected with ``settings.topic_partitions`` partitions."""
        return cls({t: settings.topic_partitions for t in topics}, KafkaTopicProbe(settings))

    async def check(self) -> dict[str, str]:
        """Ask the broker once; update the state, the metrics and the log; answer the problems found.

        A broker that cannot be reached leaves the last verdict as it was (an outage is not a lost
        topic: the clients retry on their own) and is kept as ``error``.
        """
        try:
            found = await self.probe.partitions(list(self.expected))
        except (KafkaError, OSError, TimeoutError) as exc:
            if self.error is None:
                log.warning("cannot check topics (%r); keeping the last verdict", exc)
            self.error = repr(exc)
            return self.problems
        self.error = None
        problems = topic_problems(self.expected, found)
        for topic in self.expected:
            if topic in problems and (topic not in self.problems or not self.checked):
                TOPIC_MISMATCHES.labels(topic).inc()
                log.error("%s", problems[topic])
            elif topic not in problems and topic in self.problems:
                log.warning("topic %s is back with %d partitions", topic, self.expected[topic])
            TOPIC_OK.labels(topic).set(0 if topic in problems else 1)
        self.problems, self.checked = problems, True
        return problems

    async def verify(self) -> None:
        """Check now; raise ``TopicMismatch`` if a topic is missing or wrong."""
        problems = await self.check()
        if problems:
            raise TopicMismatch(problems)

    async def run(self, stop: asyncio.Event, every: float) -> None:
        """Check every ``every`` seconds until ``stop`` is set; then close the probe."""
        try:
            while not stop.is_set():
                try:
                    await self.check()
                except Exception:
                    log.exception("topic check failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every)
        finally:
            await self.probe.close()

    def not_ready(self) -> list[str]:
        """Why the service is not ready as far as its topics go (empty when every topic is right)."""
        return sorted(self.problems.values())
