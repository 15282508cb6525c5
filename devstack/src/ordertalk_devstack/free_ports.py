"""Race-free free ports for servers the tests and benchmarks start: outside the kernel's ephemeral range, reserved.

Binding port 0 and handing the number on is racy: the kernel hands the same ephemeral range to every
outgoing connection and every other ``bind(0)``, so the port may be taken before the server binds it.
Ports here come from a band the kernel never hands out on its own (outside
``/proc/sys/net/ipv4/ip_local_port_range`` and the reserved ports), and each is reserved across processes by a
record lock on one byte of a shared lock file (the byte at the port's offset), held until the reserving
process exits; so parallel test runs on one machine never pick the same port.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import threading
from pathlib import Path

LOWEST = 28000  # above the local stack's defaults (8000-8003, 9092, 27017)
LOCK_FILE = Path(tempfile.gettempdir()) / "ordertalk-ports.lock"


def _read_range(path: Path, default: tuple[int, int]) -> tuple[int, int]:
    try:
        low, high = path.read_text().split()[:2]
        return int(low), int(high)
    except (OSError, ValueError):
        return default


def _reserved(path: Path) -> set[int]:
    try:
        text = path.read_text().strip()
    except OSError:
        return set()
    found: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


def band(ephemeral: tuple[int, int] | None = None, reserved: set[int] | None = None, lowest: int = LOWEST) -> list[int]:
    """Ports from ``lowest`` up that are neither in the kernel's ephemeral range nor reserved ports."""
    proc = Path("/proc/sys/net/ipv4")
    low, high = ephemeral or _read_range(proc / "ip_local_port_range", (32768, 60999))
    skip = _reserved(proc / "ip_local_reserved_ports") if reserved is None else reserved
    ports = [p for p in range(lowest, 65536) if not low <= p <= high and p not in skip]
    if not ports:
        raise RuntimeError(f"no port from {lowest} up lies outside the ephemeral range {low}-{high}")
    return ports


def unbound(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing holds host:port (strictly: without SO_REUSEADDR, so a lingering TIME_WAIT counts)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class PortReservations:
    """Hands out ports of ``band()``, each reserved machine-wide while this process lives."""

    def __init__(self, lock_file: Path = LOCK_FILE, ports: list[int] | None = None) -> None:
        self.lock_file = lock_file
        self.ports = band() if ports is None else ports
        self._next = random.randrange(len(self.ports))  # parallel runs start apart, and so rarely meet
        self._fd: int | None = None
        self._pid = os.getpid()
        self._mine: set[int] = set()
        self._lock = threading.Lock()

    def _file(self) -> int:
        # One descriptor per process: closing any descriptor of the file would drop all our record locks.
        if self._pid != os.getpid():  # a forked child inherits neither the parent's locks nor its ports
            self._fd, self._pid, self._mine = None, os.getpid(), set()
        if self._fd is None:
            self.lock_file.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        return self._fd

    def _claim(self, port: int) -> bool:
        fd = self._file()
        if port in self._mine:  # handed out by this process before: reusable once nothing listens there
            return True
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
        except OSError:  # another live process holds it
            return False
        self._mine.add(port)
        return True

    def reserve(self) -> int:
        """A port nothing binds now and no other process has reserved; reserved for this process from now on."""
        with self._lock:
            for _ in range(len(self.ports)):
                port = self.ports[self._next]
                self._next = (self._next + 1) % len(self.ports)
                if unbound(port) and self._claim(port):
                    return port
        raise RuntimeError(f"no free port left among {len(self.ports)} (see {self.lock_file})")


_reservations: PortReservations | None = None
_guard = threading.Lock()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on, outside the ephemeral range, reserved for this process."""
    global _reservations
    with _guard:
        if _reservations is None:
            _reservations = PortReservations()
    return _reservations.reserve()
