"""Child processes with a log file, a readiness check, a bounded stop, and no way to outlive this process.

Every child starts in a session (and process group) of its own, so a Ctrl-C in the terminal reaches only
us and we stop the children in order. If this process dies without stopping them (SIGKILL, a crash, a
closed terminal), they die too: each direct child has ``PR_SET_PDEATHSIG`` = SIGKILL (Linux), and a small
guardian process (``ordertalk_devstack.guardian``) SIGKILLs every child's whole process group — the
children's own children included — as soon as its pipe from us closes. The death signal fires when the
*thread* that forked the child ends, so every child is forked by one thread that lives as long as the
process (``_Spawner``).

A SIGKILLed process takes a moment to exit, and the children's own children are not ours to reap: after
SIGKILLing a process group, a stop polls /proc until no live process of that group is left (bounded by
``GROUP_END_SECONDS``), and logs those that outlive it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ordertalk_devstack.free_ports import free_port

__all__ = [
    "GROUP_END_SECONDS",
    "ManagedProcess",
    "StartError",
    "descendants",
    "free_port",
    "group_members",
    "port_open",
    "python_argv",
    "run_child",
    "spawn",
    "stop_all",
    "wait_group_end",
]

T = TypeVar("T")
PR_SET_PDEATHSIG = 1
GROUP_END_SECONDS = 0.9  # after the SIGKILL of a group, how long a stop waits for its processes to exit
log = logging.getLogger(__name__)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class StartError(RuntimeError):
    """A child process did not become ready."""


class _Spawner:
    """One thread, alive as long as the process, that forks every child (the parent-death signal follows it)."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._owner: int | None = None
        self._guard = threading.Lock()

    def call(self, job: Callable[[], T]) -> T:
        """Run ``job`` on the spawner thread and answer its result (or raise its exception)."""
        with self._guard:
            if self._owner != os.getpid():  # first use, or a forked child of the process that started it
                self._requests = queue.SimpleQueue()
                threading.Thread(target=self._serve, name="ordertalk-spawner", daemon=True).start()
                self._owner = os.getpid()
        done: Future[T] = Future()
        self._requests.put((job, done))
        return done.result()

    def _serve(self) -> None:
        requests = self._requests
        while True:
            job, done = requests.get()
            try:
                done.set_result(job())
            except BaseException as exc:  # handed to the caller
                done.set_exception(exc)


_spawner = _Spawner()


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _die_with(parent: int) -> Callable[[], None] | None:
    """A preexec function that makes the child get SIGKILL when ``parent``'s spawning thread ends (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = _libc().prctl  # looked up before the fork, not in the child

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != parent:  # the parent died before the death signal was armed
            os._exit(1)

    return preexec


class _Guardian:
    """The guardian process of this process: told every child's process group, kills them all if we die."""

    def __init__(self) -> None:
        self._pipe: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._owner: int | None = None

    def _tell(self, line: str) -> None:
        if self._pipe is None:
            return
        try:
            os.write(self._pipe, line.encode())
        except OSError:  # the guardian is gone; the death signal still covers the direct children
            self._pipe = None

    def watch(self, group: int) -> None:
        """From now on, SIGKILL process group ``group`` if this process dies (call on the spawner thread)."""
        if self._owner != os.getpid():
            self._start()
        self._tell(f"+{group}\n")

    def release(self, group: int) -> None:
        """``group`` is stopped and reaped: forget it."""
        if self._owner == os.getpid():
            self._tell(f"-{group}\n")

    def _start(self) -> None:
        read, write = os.pipe()
        try:
            self._popen = subprocess.Popen(
                [sys.executable, "-m", "ordertalk_devstack.guardian"],
                stdin=read,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # terminal signals go to us, not to it
            )
        except OSError:
            os.close(write)
            self._pipe = None
        else:
            self._pipe = write
            atexit.register(self.close)
        finally:
            os.close(read)
            self._owner = os.getpid()

    def close(self) -> None:
        """At a normal exit: end the guardian (it kills what is still watched) and wait for it to go."""
        if self._owner != os.getpid() or self._pipe is None or self._popen is None:
            return
        os.close(self._pipe)
        self._pipe = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(2)


_guardian = _Guardian()


def spawn(argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[bytes]:
    """Popen in a new session that dies with this process (death signal and guardian), its group watched."""

    def start() -> subprocess.Popen[bytes]:
        popen = subprocess.Popen(list(argv), start_new_session=True, preexec_fn=_die_with(os.getpid()), **popen_kwargs)
        _guardian.watch(popen.pid)
        return popen

    return _spawner.call(start)


def run_child(argv: Sequence[str], timeout: float = 120.0, **popen_kwargs: Any) -> int:
    """Run a short-lived child to its end (``spawn``: it dies with us too) and answer its exit code.

    SIGKILL when it overruns ``timeout`` or the wait is interrupted (Ctrl-C during the start-up).
    """
    popen = spawn(argv, **popen_kwargs)
    try:
        return popen.wait(timeout)
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
        _guardian.release(popen.pid)


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


@dataclass
class ManagedProcess:
    """A child process we started, its log file, and how to tell it is ready."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _released: bool = field(default=False, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        """The process id, once started."""
        return self.popen.pid if self.popen else None

    def start(self, ready: Callable[[], bool], timeout: float = 30.0) -> ManagedProcess:
        """Start the process and wait until ``ready()`` holds; StartError if it dies or times out."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if self.env is None else self.env)
        with self.log_path.open("ab") as log:
            self.popen = spawn(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                self._finish()
                raise StartError(
                    f"{self.name} exited with {self.popen.returncode}; see {self.log_path}{self._log_tail()}"
                )
            if ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise StartError(f"{self.name} not ready after {timeout}s; see {self.log_path}{self._log_tail()}")

    def _log_tail(self, lines: int = 25) -> str:
        """The log's last lines, for an error message that tells why (a CI run keeps no temporary files)."""
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "".join(f"\n  | {line[:400]}" for line in tail)

    def alive(self) -> bool:
        """Whether the process still runs (without reaping it, so its process group id stays ours)."""
        if self.popen is None or self.popen.returncode is not None:
            return False
        try:
            exited = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # reaped elsewhere (popen.wait)
            self.popen.poll()
            return False
        return exited is None

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM to the process); see ``wait_stopped``."""
        if self.alive():
            assert self.popen is not None
            self.popen.send_signal(signal.SIGTERM)

    def wait_stopped(self, deadline: float) -> bool:
        """Wait until it exited or ``time.monotonic()`` passes ``deadline``; then sweep its group. Whether it ended."""
        while self.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        self._finish()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL to its whole process group after ``timeout`` seconds."""
        self.terminate()
        if not self.wait_stopped(time.monotonic() + timeout):
            self.kill()
        self._finish()

    def kill(self, group_deadline: float | None = None) -> None:
        """SIGKILL at once to the process and its process group (for crash tests, and stops that overran).

        Returns once the process is reaped and no process of its group is left (or ``group_deadline`` passed).
        """
        if self.popen is None:
            return
        if self.alive():
            _signal_group(self.popen.pid, signal.SIGKILL)
        self._finish(group_deadline)

    def _finish(self, group_deadline: float | None = None) -> None:
        """After the process exited: SIGKILL what is left of its group while its id is still ours, wait, reap.

        The group is waited for before the reaping: while the process is unreaped, its id (the group's) is not
        reused, so the processes found in the group are the ones we SIGKILLed.
        """
        if self.popen is None:
            return
        if self.popen.returncode is None:  # exited but not reaped: the group id cannot have been reused
            group = self.popen.pid
            _signal_group(group, signal.SIGKILL)
            until = time.monotonic() + GROUP_END_SECONDS if group_deadline is None else group_deadline
            left = wait_group_end(group, until)
            if left:
                pids = ", ".join(str(stat.pid) for stat in left)
                log.warning("%s: process group %d still has live processes after SIGKILL: %s", self.name, group, pids)
            self.popen.wait(5)
        if not self._released:
            _guardian.release(self.popen.pid)
            self._released = True


def stop_all(
    phases: Sequence[Sequence[ManagedProcess]],
    seconds: float = 4.0,
    phase_seconds: float = 2.0,
    hurry: Callable[[], bool] = lambda: False,
    group_seconds: float = GROUP_END_SECONDS,
) -> None:
    """Stop ``phases`` in order, each one's processes in parallel, all of it within ``seconds + group_seconds``.

    Each phase gets SIGTERM and up to ``phase_seconds`` to exit before the next phase gets its SIGTERM;
    whatever still runs ``seconds`` after the start, or once ``hurry()`` holds (a second Ctrl-C), gets
    SIGKILL with its process group. Then every process group gets SIGKILL, and the stop returns once none
    of them has a live process left, or ``group_seconds`` later (logging the survivors).
    """
    deadline = time.monotonic() + seconds
    everyone = [proc for phase in phases for proc in phase]

    def waiting(procs: Sequence[ManagedProcess], until: float) -> bool:
        return any(proc.alive() for proc in procs) and time.monotonic() < until and not hurry()

    for phase in phases:
        if hurry():
            break
        for proc in phase:
            proc.terminate()
        phase_deadline = min(deadline, time.monotonic() + phase_seconds)
        while waiting(phase, phase_deadline):
            time.sleep(0.02)
    while waiting(everyone, deadline):
        time.sleep(0.02)
    for proc in everyone:  # SIGKILL every unreaped process's group first, then wait for them and reap
        if proc.popen is not None and proc.popen.returncode is None:
            _signal_group(proc.popen.pid, signal.SIGKILL)
    group_deadline = time.monotonic() + group_seconds  # one for all: the groups were killed together
    for proc in everyone:
        proc.kill(group_deadline)


def python_argv(*args: str) -> list[str]:
    """argv that runs this interpreter with ``args``."""
    return [sys.executable, *args]


@dataclass(frozen=True, slots=True)
class ProcessStat:
    """One live process as Linux's /proc/<pid>/stat shows it."""

    pid: int
    parent: int
    cpu_seconds: float  # user + system so far
    state: str = "R"  # Z: ended, not yet reaped
    started: int = 0  # clock ticks after boot: with the pid, names the process (pids are reused)
    group: int = 0  # process group id


def process_table() -> dict[int, ProcessStat]:
    """Every live process (Linux /proc), by process id."""
    ticks = os.sysconf("SC_CLK_TCK")
    table: dict[int, ProcessStat] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        table[int(entry)] = ProcessStat(int(entry), int(fields[1]), cpu, fields[0], int(fields[19]), int(fields[2]))
    return table


def group_members(group: int, table: Mapping[int, ProcessStat]) -> list[ProcessStat]:
    """The processes of process group ``group`` in ``table`` that still run (a zombie has ended)."""
    return [stat for stat in table.values() if stat.group == group and stat.state not in "ZX"]


def wait_group_end(
    group: int, deadline: float, scan: Callable[[], Mapping[int, ProcessStat]] = process_table
) -> list[ProcessStat]:
    """Poll ``scan()`` until no process of ``group`` runs or ``time.monotonic()`` passes ``deadline``; the rest."""
    while (left := group_members(group, scan())) and time.monotonic() < deadline:
        time.sleep(0.01)
    return left


def descendants(pid: int, table: Mapping[int, ProcessStat] | None = None) -> list[ProcessStat]:
    """The live processes ``pid`` started, their children, and so on (not ``pid`` itself)."""
    table = process_table() if table is None else table
    children: dict[int, list[ProcessStat]] = {}
    for stat in table.values():
        children.setdefault(stat.parent, []).append(stat)
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child.pid)
    return found
