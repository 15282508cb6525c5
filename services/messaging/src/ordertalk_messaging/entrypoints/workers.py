"""``serve --workers N``: N API processes sharing one port, and the one relay beside them, supervised together.

Each worker is a plain ``serve`` process bound with SO_REUSEPORT, so the kernel spreads new
connections evenly over them (a shared accept socket lets the first worker awake take most of
them). Exactly one relay may publish, so the workers run without it (``RELAY_ENABLED=false``) and
one ``relay`` process runs beside them, woken by their saves (NOTIFY on PostgreSQL, a local
datagram on SQLite). SIGTERM or SIGINT stops them all; if one of them dies, the others are stopped
too and the supervisor exits non-zero, for whatever runs it to restart the whole set.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger(__name__)
STOP_SECONDS = 20.0


def worker_argv(host: str, port: int, log_level: str) -> list[str]:
    """The command line of one API worker."""
    command = ["serve", "--workers", "1", "--reuse-port", "--host", host, "--port", str(port)]
    return [sys.executable, "-m", "ordertalk_messaging", *command, "--log-level", log_level]


def worker_env(n: int) -> dict[str, str]:
    """The environment of worker ``n``: without the relay, and with a static-membership instance id of its own
    (workers on one host would otherwise share one and fence each other out of the orders group)."""
    base = os.environ.get("KAFKA_GROUP_INSTANCE_ID") or socket.gethostname()
    return os.environ | {"RELAY_ENABLED": "false", "KAFKA_GROUP_INSTANCE_ID": f"{base}-worker{n}"}


def relay_argv() -> list[str]:
    """The command line of the relay."""
    return [sys.executable, "-m", "ordertalk_messaging", "relay"]


def _first_exit(ours: set[int]) -> tuple[int, int]:
    """The pid and wait status of the first of ``ours`` to exit (after a stop, or on its own).

    A child that is not ours (a helper some library ran and reaped itself) is passed over, not taken
    for a dead worker.
    """
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:  # a stop's poll() reaped every child first
            return 0, 0
        if pid in ours:
            return pid, status
        log.debug("process %d, not one of ours, exited", pid)


def supervise(workers: Sequence[list[str]], relay: list[str] | None) -> int:
    """Run ``workers`` (without the relay) and ``relay``; answer 0 after a requested stop, 1 if one died."""
    children = [subprocess.Popen(argv, env=worker_env(n)) for n, argv in enumerate(workers, 1)]
    if relay is not None:
        children.append(subprocess.Popen(relay, env=os.environ | {"RELAY_ENABLED": "true"}))
    names = {child.pid: f"worker {n + 1}" for n, child in enumerate(children[: len(workers)])}
    requested = False

    def stop_all(signum: int, _frame: FrameType | None = None) -> None:
        nonlocal requested
        requested = requested or signum != 0
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop_all) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info("supervising %d API workers%s", len(workers), " and the relay" if relay is not None else "")
    try:
        pid, status = _first_exit({child.pid for child in children})
        for child in children:
            if child.pid == pid:
                child.returncode = os.waitstatus_to_exitcode(status)
                if not requested:
                    name = names.get(pid, "the relay")
                    log.error("%s (pid %d) exited with %d; stopping the others", name, pid, child.returncode)
        if not requested:
            stop_all(0)
        for child in children:
            try:
                child.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if requested else 1
