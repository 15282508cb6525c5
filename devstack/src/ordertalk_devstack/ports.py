"""The local stack's ports: defaults, the DEVSTACK_* variables that move them, and whether they are free.

Standard library only: `make run` runs ``python3 devstack/src/ordertalk_devstack/ports.py check`` with the
machine's Python before it creates the virtualenv, so a taken port is reported before minutes of installs.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields

OFFSET_VARIABLE = "DEVSTACK_PORT_OFFSET"
WHAT = {
    "kafka": "Kafka",
    "mongo": "MongoDB",
    "smtp": "SMTP",
    "web": "web",
    "messaging": "messaging",
    "projections": "projections",
    "notifier": "notifier",
}
# A stand-in server is not started (so its port is not needed) when this variable names a real one.
EXTERNAL = {"kafka": "KAFKA_BOOTSTRAP_SERVERS", "mongo": "MONGO_URL", "smtp": "SMTP_HOST"}


@dataclass(frozen=True)
class StackPorts:
    """The loopback ports of the local stack."""

    kafka: int = 9092
    mongo: int = 27017
    smtp: int = 1025
    web: int = 8000
    messaging: int = 8001
    projections: int = 8002
    notifier: int = 8003

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackPorts:
        """The defaults moved by DEVSTACK_PORT_OFFSET, then DEVSTACK_<NAME>_PORT where set; SystemExit if invalid."""
        environ = os.environ if environ is None else environ
        offset = _integer(environ, OFFSET_VARIABLE, 0)
        chosen = {}
        for field in fields(cls):
            port = _integer(environ, variable(field.name), getattr(cls(), field.name) + offset)
            if not 1 <= port <= 65535:
                raise SystemExit(f"port {port} for {WHAT[field.name]} is out of range; check {variable(field.name)}")
            chosen[field.name] = port
        if len(set(chosen.values())) < len(chosen):
            raise SystemExit(f"two parts of the stack would share a port: {chosen}")
        return cls(**chosen)

    def items(self) -> list[tuple[str, int]]:
        """(name, port) of every part of the stack."""
        return [(field.name, getattr(self, field.name)) for field in fields(self)]


def variable(name: str) -> str:
    """The environment variable that sets the port of ``name`` (kafka, web, …)."""
    return f"DEVSTACK_{name.upper()}_PORT"


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a port number") from None


def bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on host:port now (as servers do, with SO_REUSEADDR: TIME_WAIT is no obstacle)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(1)
        except OSError:
            return False
    return True


def needed(ports: StackPorts, environ: Mapping[str, str] | None = None, services: bool = True) -> list[tuple[str, int]]:
    """The (name, port) pairs the stack will listen on: a stand-in's only when no real server is configured."""
    environ = os.environ if environ is None else environ
    return [
        (name, port)
        for name, port in ports.items()
        if (name in EXTERNAL and EXTERNAL[name] not in environ) or (services and name not in EXTERNAL)
    ]


def taken(ports: StackPorts, environ: Mapping[str, str] | None = None, services: bool = True) -> list[str]:
    """One line per needed port that something else holds, naming the variable that moves it."""
    return [
        f"port {port} for {WHAT[name]} is taken; stop what uses it or set {variable(name)} (or {OFFSET_VARIABLE})"
        for name, port in needed(ports, environ, services)
        if not bindable(port)
    ]


def main(argv: list[str]) -> int:
    """``check``: exit 1 with a line per taken port, 0 when the stack can start."""
    if argv[1:] != ["check"]:
        print("usage: ports.py check", file=sys.stderr)
        return 2
    try:
        problems = taken(StackPorts.from_env())
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
