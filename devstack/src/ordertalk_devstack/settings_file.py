"""The running stack's settings in `var/stack.env`, for the operators' tool (`ordertalk-ops`) to pick up.

One `KEY=value` line each (values quoted as a POSIX shell would need them, so `set -a; . var/stack.env`
works too), the stack's process id in a `# pid:` comment, file mode 0600 (it holds the JWT secret). Only
the variables the services are configured by are written, never the rest of the shell's environment.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path

FILE_NAME = "stack.env"
# Besides the variables the devstack derives itself: whatever the shell set for the services.
SERVICE_PREFIXES = (
    "KAFKA_",
    "MONGO_",
    "SMTP_",
    "AUTH_",
    "EVENT_STORE",
    "SQLITE_",
    "POSTGRES_",
    "MESSAGING_",
    "PROJECTIONS_",
    "NOTIFIER_",
    "ORDERS_CONSUMER_",
    "OPS_",
)


def service_settings(env: Mapping[str, str], derived: Iterable[str]) -> dict[str, str]:
    """Pure: the part of the services' environment that configures them (``derived`` keys and service prefixes)."""
    keys = set(derived)
    return {k: v for k, v in sorted(env.items()) if k in keys or k.startswith(SERVICE_PREFIXES)}


def render(settings: Mapping[str, str], pid: int) -> str:
    """Pure: the file's text."""
    lines = [
        "# The settings of the local stack's services, written by `make run` (ordertalk_devstack) while it runs.",
        "# ordertalk-ops reads it for every variable its environment does not set. Holds secrets: mode 0600.",
        f"# pid: {pid}",
    ]
    lines += [f"{key}={shlex.quote(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def write_settings_file(var: Path, settings: Mapping[str, str], pid: int | None = None) -> Path:
    """Write ``var/stack.env`` atomically, readable by its owner only; returns its path."""
    var.mkdir(parents=True, exist_ok=True)
    path = var / FILE_NAME
    partial = path.with_suffix(".env.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render(settings, os.getpid() if pid is None else pid))
    os.replace(partial, path)
    return path


def remove_settings_file(var: Path, pid: int | None = None) -> None:
    """Remove ``var/stack.env`` if this process (or ``pid``) wrote it: the stack stopped, nothing runs there."""
    path = var / FILE_NAME
    with contextlib.suppress(FileNotFoundError):
        if f"# pid: {os.getpid() if pid is None else pid}\n" in path.read_text(encoding="utf-8"):
            path.unlink()
