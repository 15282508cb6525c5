"""A broker wiped under load: the services say so, the relay stops, `ordertalk-ops recover` brings everything back.

The whole system runs on the stand-ins (tests.faults' scene: load with idempotency keys from every party,
then the audit of every read model, bell and e-mail against the fold of the store). The broker is killed
by its pid and started again, empty, on its port; while it is empty every service's /readyz answers 503
naming the lost topic, ``ordertalk_topic_ok`` is 0, and the relay publishes nothing though writes are
acknowledged. Then the operator's one command, and the audit finds 0 lost and 0 doubled e-mails.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from tests.faults.conftest import Scene, scene
from tests.faults.load import Load
from tests.faults.scenario import run_scenario

from ordertalk_contracts.topics import THREAD_EVENTS

__all__ = ["scene"]  # the fixture: a whole stack of its own, orders registered, parties to act as

pytestmark = [pytest.mark.e2e, pytest.mark.faults]  # `make test-faults` runs it (about 70 s)
SERVICES = ("messaging", "projections", "notifier")


def readiness(base: str) -> tuple[int, dict[str, Any]]:
    """Status and body of a service's /readyz."""
    response = httpx.get(f"{base}/readyz", timeout=5)
    return response.status_code, response.json()


def poll(condition: Any, within: float, what: str) -> Any:
    """The first truthy answer of ``condition`` within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        answer = condition()
        if answer:
            return answer
        assert time.monotonic() < deadline, f"waited {within:.0f}s for {what}"
        time.sleep(0.2)


def topic_ok_gauge(base: str, topic: str) -> float | None:
    """The ``ordertalk_topic_ok`` sample of ``topic`` on a service's /metrics."""
    text = httpx.get(f"{base}/metrics", timeout=5).text
    found = re.search(rf'^ordertalk_topic_ok\{{topic="{re.escape(topic)}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_a_wiped_broker_is_reported_stops_the_relay_and_is_recovered_by_one_command(scene: Scene) -> None:
    stack = scene.faults.stack
    observed: dict[str, Any] = {}

    def fault(scene: Scene, load: Load) -> None:
        scene.faults.wipe_broker()

        def all_report_the_lost_topic() -> dict[str, list[str]] | None:
            reasons = {}
            for name in SERVICES:
                status, body = readiness(stack.url(name))
                named = [r for r in body.get("reasons", []) if THREAD_EVENTS in r and "missing" in r]
                if status != 503 or not named:
                    return None
                reasons[name] = body["reasons"]
            return reasons

        observed["reasons"] = poll(all_report_the_lost_topic, 60, "every service's /readyz to name the lost topic")
        stopped = poll(
            lambda: next(
                (b for s, b in [readiness(stack.url("messaging"))] if any("relay stopped" in r for r in b["reasons"])),
                None,
            ),
            60,
            "the relay to stop",
        )
        for name in SERVICES:
            assert topic_ok_gauge(stack.url(name), THREAD_EVENTS) == 0, name
        load.wait_acks(20, 60, "while the broker is empty")
        _, later = readiness(stack.url("messaging"))
        assert later["relay_position"] == stopped["relay_position"], "the relay published while its topic was gone"
        assert later["last_position"] > stopped["relay_position"], "no write was stored while the broker was empty"
        observed["held_back"] = later["last_position"] - stopped["relay_position"]

        done = scene.faults.ops("recover")
        assert done.returncode == 0, done.stdout + done.stderr
        observed["recover"] = done.stdout
        for name in SERVICES:
            poll(lambda name=name: readiness(stack.url(name))[0] == 200, 60, f"{name} ready again")
            assert topic_ok_gauge(stack.url(name), THREAD_EVENTS) == 1, name
        relay_log = (stack.var / "log" / "messaging.log").read_text(errors="replace")
        # Either the relay started over from the store's first event, or (messaging slow to answer the tool) the
        # tool re-published the store itself; the audit below decides whether anything was lost or doubled.
        assert (
            "re-publishing from the store's first event" in relay_log
            or "re-publishing the store from here" in done.stdout
        ), done.stdout

    outcome = run_scenario(scene, fault)
    print(f"503 reasons while empty: {observed['reasons']}")
    print(f"events held back by the stopped relay: {observed['held_back']}")
    print(observed["recover"])
    assert outcome.mails > 0  # e-mails were expected, and the audit found each received exactly once
