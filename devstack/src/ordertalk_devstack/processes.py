"""Child processes with a log file, a readiness check and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class StartError(RuntimeError):
    """A child process did not become ready."""


@dataclass
class ManagedProcess:
    """A child process we started, its log file, and how to tell it is ready."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def pid(self) -> int | None:
        """The process id, once started."""
        return self.popen.pid if self.popen else None

    def start(self, ready: Callable[[], bool], timeout: float = 30.0) -> ManagedProcess:
        """Start the process and wait until ``ready()`` holds; StartError if it dies or times out."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = dict(os.environ if self.env is None else self.env)
        self.popen = subprocess.Popen(
            list(self.argv), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise StartError(f"{self.name} exited with {self.popen.returncode}; see {self.log_path}")
            if ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise StartError(f"{self.name} not ready after {timeout}s; see {self.log_path}")

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    def kill(self) -> None:
        """SIGKILL at once (for crash tests)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5)


def python_argv(*args: str) -> list[str]:
    """argv that runs this interpreter with ``args``."""
    return [sys.executable, *args]


@dataclass(frozen=True, slots=True)
class ProcessStat:
    """One live process as Linux's /proc/<pid>/stat shows it."""

    pid: int
    parent: int
    cpu_seconds: float  # user + system so far


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
        table[int(entry)] = ProcessStat(int(entry), int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    return table


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
