"""The topic check: a reason per missing or mis-partitioned topic, metrics, and an outage kept apart from a loss."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from aiokafka.errors import KafkaConnectionError
from prometheus_client import REGISTRY

from ordertalk_runtime.observability import not_ready_reasons
from ordertalk_runtime.topics import TopicCheck, TopicMismatch, topic_problems


@dataclass
class ScriptedProbe:
    """TopicProbe fake: answers what ``found`` says, or raises ``failure``."""

    found: dict[str, int | None] = field(default_factory=dict)
    failure: Exception | None = None
    closed: bool = False

    async def partitions(self, topics: Sequence[str]) -> dict[str, int | None]:
        if self.failure is not None:
            raise self.failure
        return {t: self.found.get(t) for t in topics}

    async def close(self) -> None:
        self.closed = True


async def poll(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``condition`` holds (the check runs in a task of its own), failing after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - a plain attribute, nothing to wait on
            await asyncio.sleep(0.005)


def metric(name: str, topic: str) -> float:
    value = REGISTRY.get_sample_value(name, {"topic": topic})
    return 0.0 if value is None else value


def test_problems_name_the_missing_and_the_mis_partitioned_topics() -> None:
    expected = {"a": 6, "b": 6, "c": 6}
    problems = topic_problems(expected, {"a": 6, "b": 4, "c": None})
    assert problems == {
        "b": "topic b has 4 partitions, configured 6",
        "c": "topic c is missing (configured with 6 partitions)",
    }


async def test_check_reports_reasons_sets_metrics_and_counts_each_mismatch_once() -> None:
    probe = ScriptedProbe({"unit.t1": 6, "unit.t2": 6})
    check = TopicCheck({"unit.t1": 6, "unit.t2": 6}, probe)
    before = metric("ordertalk_topic_mismatches_total", "unit.t2")
    assert await check.check() == {}
    assert check.not_ready() == [] and metric("ordertalk_topic_ok", "unit.t2") == 1

    probe.found["unit.t2"] = 4  # the broker re-created it with its own default
    await check.check()
    await check.check()
    assert check.not_ready() == ["topic unit.t2 has 4 partitions, configured 6"]
    assert metric("ordertalk_topic_ok", "unit.t2") == 0
    assert metric("ordertalk_topic_mismatches_total", "unit.t2") == before + 1
    assert not_ready_reasons([check]) == check.not_ready()
    with pytest.raises(TopicMismatch, match="4 partitions"):
        await check.verify()

    probe.found["unit.t2"] = 6
    await check.verify()
    assert check.not_ready() == [] and metric("ordertalk_topic_ok", "unit.t2") == 1


async def test_an_unreachable_broker_keeps_the_last_verdict() -> None:
    probe = ScriptedProbe({"unit.t3": None})
    check = TopicCheck({"unit.t3": 6}, probe)
    await check.check()
    probe.failure = KafkaConnectionError("down")
    assert await check.check() == {"unit.t3": "topic unit.t3 is missing (configured with 6 partitions)"}
    assert check.error is not None
    probe.failure, probe.found["unit.t3"] = None, 6
    assert await check.check() == {} and check.error is None


async def test_run_checks_until_stopped_and_closes_the_probe() -> None:
    probe = ScriptedProbe({"unit.t4": 6})
    check = TopicCheck({"unit.t4": 6}, probe)
    stop = asyncio.Event()
    task = asyncio.create_task(check.run(stop, 0.01))
    await poll(lambda: check.checked)
    probe.found["unit.t4"] = None
    await poll(lambda: bool(check.not_ready()))
    stop.set()
    await task
    assert probe.closed
