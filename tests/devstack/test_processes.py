"""Children of the devstack: they die with it (SIGKILL included), and a stop ends within 5 s whatever they do."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support.polling import wait_for
from tests.support.survivors import identity, survivors

from ordertalk_devstack.__main__ import Stopping
from ordertalk_devstack.processes import ManagedProcess, ProcessStat, python_argv, wait_group_end
from ordertalk_devstack.stack import Stack, StackPorts

# A child that ignores SIGTERM and starts a grandchild (in its process group) that ignores it too.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
grandchild = subprocess.Popen([sys.executable, "-c", ignore])
print(grandchild.pid, flush=True)
time.sleep(600)
"""

# A parent (as the devstack is) that starts two such children with ManagedProcess and prints every pid.
PARENT = """
import sys, time
from pathlib import Path
from ordertalk_devstack.__main__ import Stopping
from ordertalk_devstack.processes import ManagedProcess, python_argv
logs = Path(sys.argv[1])
for n in range(2):
    log = logs / f"child-{n}.log"
    child = ManagedProcess(f"child-{n}", python_argv("-c", sys.argv[2]), log)
    child.start(lambda: log.exists() and log.read_text().strip() != "")
    print(child.pid, log.read_text().strip(), flush=True)
print("ready", flush=True)
time.sleep(600)
"""


def kill_left_over(processes: set[tuple[int, int]]) -> None:
    for pid, _ in survivors(processes):
        os.kill(pid, signal.SIGKILL)


def stubborn(tmp_path: Path, name: str) -> ManagedProcess:
    log = tmp_path / f"{name}.log"
    proc = ManagedProcess(name, python_argv("-c", STUBBORN), log)
    return proc.start(lambda: log.exists() and log.read_text().strip() != "")


@pytest.fixture
def tracked() -> Iterator[set[tuple[int, int]]]:
    """Processes a test started; whatever still runs after it is killed (by pid)."""
    processes: set[tuple[int, int]] = set()
    yield processes
    kill_left_over(processes)


def test_sigkill_of_the_parent_leaves_no_child_or_grandchild(tmp_path: Path, tracked: set[tuple[int, int]]) -> None:
    parent = subprocess.Popen(
        python_argv("-c", PARENT, str(tmp_path), STUBBORN), stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert parent.stdout is not None
    try:
        lines = [parent.stdout.readline().strip() for _ in range(3)]
        assert lines[-1] == "ready", lines
        pids = {int(pid) for line in lines[:-1] for pid in line.split()}
        tracked.update(found for pid in pids if (found := identity(pid)) is not None)
        assert len(tracked) == 4, "two children and their two children run"
        parent.kill()
        parent.wait(5)
        wait_for(lambda: not survivors(tracked), 5, "every child and grandchild to end")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_a_child_started_from_a_thread_that_ends_lives_on(tmp_path: Path) -> None:
    """The parent-death signal fires when the forking *thread* ends: children are forked by one that never does."""
    started: list[ManagedProcess] = []
    thread = threading.Thread(target=lambda: started.append(stubborn(tmp_path, "from-thread")))
    thread.start()
    thread.join()
    [proc] = started
    assert proc.popen is not None
    try:
        wait_for(lambda: not Path(f"/proc/self/task/{thread.native_id}").exists(), 5, "the thread to end")
        with pytest.raises(subprocess.TimeoutExpired):  # a death signal tied to that thread would end it now
            proc.popen.wait(0.5)
    finally:
        proc.kill()


def test_a_stop_ends_within_5_seconds_though_nothing_heeds_sigterm(
    tmp_path: Path, tracked: set[tuple[int, int]]
) -> None:
    procs = [stubborn(tmp_path, f"stubborn-{n}") for n in range(4)]
    for proc in procs:
        assert proc.pid is not None
        grandchild = int(proc.log_path.read_text().split()[0])
        tracked.update(found for pid in (proc.pid, grandchild) if (found := identity(pid)) is not None)
    stack = Stack(tmp_path, StackPorts(), {}, processes=procs, services={"a": procs[2], "b": procs[3]})
    began = time.monotonic()
    stack.stop()
    took = time.monotonic() - began
    assert took <= 5.0, f"the stop took {took:.1f} s"
    assert not survivors(tracked)


def test_a_kill_returns_once_its_whole_group_is_gone(tmp_path: Path, tracked: set[tuple[int, int]]) -> None:
    proc = stubborn(tmp_path, "killed")
    assert proc.pid is not None
    grandchild = int(proc.log_path.read_text().split()[0])
    tracked.update(found for pid in (proc.pid, grandchild) if (found := identity(pid)) is not None)
    assert len(tracked) == 2
    proc.kill()
    assert not survivors(tracked)


def scans(*tables: dict[int, ProcessStat]) -> tuple[list[int], Callable[[], dict[int, ProcessStat]]]:
    """A stand-in for the /proc scan answering ``tables`` in turn (the last one ever after), and its call count."""
    calls = [0]

    def scan() -> dict[int, ProcessStat]:
        calls[0] += 1
        return tables[min(calls[0], len(tables)) - 1]

    return calls, scan


def test_waiting_for_a_group_polls_until_none_of_it_runs() -> None:
    member, zombie = ProcessStat(11, 1, 0.0, "S", 5, group=10), ProcessStat(10, 1, 0.0, "Z", 4, group=10)
    other = ProcessStat(21, 1, 0.0, "S", 6, group=20)
    dying = {10: zombie, 11: member, 21: other}
    calls, scan = scans(dying, dying, {10: zombie, 21: other})
    assert wait_group_end(10, time.monotonic() + 30, scan) == []
    assert calls[0] == 3, "it polled until the last live member had gone (zombies and other groups do not count)"


def test_waiting_for_a_group_gives_up_at_the_deadline_and_answers_the_survivors() -> None:
    stuck = ProcessStat(11, 1, 0.0, "D", 5, group=10)
    calls, scan = scans({11: stuck})
    began = time.monotonic()
    assert wait_group_end(10, began + 0.1, scan) == [stuck]
    assert time.monotonic() - began >= 0.1 and calls[0] > 1


def test_a_second_ctrl_c_kills_at_once(tmp_path: Path, tracked: set[tuple[int, int]]) -> None:
    procs = [stubborn(tmp_path, f"hurried-{n}") for n in range(2)]
    tracked.update(found for proc in procs if proc.pid and (found := identity(proc.pid)) is not None)
    began = time.monotonic()
    Stack(tmp_path, StackPorts(), {}, processes=procs).stop(hurry=lambda: time.monotonic() - began > 0.5)
    assert time.monotonic() - began < 1.5
    assert not survivors(tracked)


def test_sigterm_still_stops_a_heeding_child_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "polite.log"
    proc = ManagedProcess("polite", python_argv("-c", "import time; print('up', flush=True); time.sleep(600)"), log)
    proc.start(lambda: log.exists() and "up" in log.read_text())
    proc.stop()
    assert proc.popen is not None and proc.popen.returncode == -signal.SIGTERM


def test_ctrl_c_interrupts_the_start_up_then_stops_and_a_second_one_hurries() -> None:
    stopping = Stopping()
    with pytest.raises(KeyboardInterrupt):  # still starting: unwind into the stop
        stopping(signal.SIGINT, None)
    assert stopping.stop() and not stopping.hurry()
    stopping(signal.SIGINT, None)  # during the stop: never interrupts it, makes it SIGKILL at once
    assert stopping.hurry()
    running = Stopping()
    running.started = True
    running(signal.SIGHUP, None)  # the terminal was closed
    assert running.stop() and not running.hurry()
