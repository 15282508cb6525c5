"""The writer refuses commands past its queue bound at once (503 upstream) and answers every queued one."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest

from ordertalk_messaging.application.caller import Caller
from ordertalk_messaging.application.writer import Change, Overloaded, Writer
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.entrypoints.api.deps import as_problems
from ordertalk_runtime.problems import Problem

ADMIN = Caller(Participant("admin", "admin-1", "Admin Admin"))


class Held(Change[None, str]):
    """A change answered in ``begin`` (no store needed); the first one waits until released."""

    def __init__(self, name: str, gate: threading.Event | None = None) -> None:
        super().__init__("1", ADMIN, lambda _: None)
        self.name, self.gate = name, gate
        self.started = threading.Event()

    def begin(self) -> str | None:
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(10), "never released"
        return self.name


def test_commands_past_the_queue_bound_are_refused_and_the_queued_ones_answered() -> None:
    writer = Writer(cast("Any", None), lambda: 0, max_queue=3)
    gate = threading.Event()
    first = Held("first", gate)
    try:
        writer.submit(first)
        assert first.started.wait(10)  # the writer thread is busy with it; what follows waits in the queue
        queued = [Held(f"q{i}") for i in range(3)]
        futures = [writer.submit(c) for c in queued]
        with pytest.raises(Overloaded):
            writer.submit(Held("one too many"))
        gate.set()
        assert first.future.result(10) == "first"
        assert [f.result(10) for f in futures] == ["q0", "q1", "q2"]
        assert writer.submit(Held("after")).result(10) == "after"  # room again
    finally:
        gate.set()
        writer.close()
    with pytest.raises(RuntimeError):
        writer.submit(Held("closed"))


def test_a_full_writer_is_answered_as_503_with_retry_after() -> None:
    with pytest.raises(Problem) as info, as_problems():
        raise Overloaded("5000 commands are waiting")
    assert (info.value.status, info.value.headers) == (503, {"Retry-After": "1"})
