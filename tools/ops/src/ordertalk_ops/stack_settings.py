"""Where `ordertalk-ops` gets its settings: the environment, else the running local stack's, else `make run`'s.

The services read ``KAFKA_*``, ``MONGO_*``, ``AUTH_*``, ``MESSAGING_URL`` … from their environment; the
devstack (`make run`) writes what it gave them to ``var/stack.env`` while it runs. The tool takes, for
every variable its own environment does not set, the value in that file, or else the local default of
`make run` on its default ports. Variables come in groups (all ``KAFKA_*``, all ``MONGO_*``, all
``AUTH_*``, the event store's, all ``SMTP_*``): once the environment sets any variable of a group, the
whole group comes from the environment alone, so a shell pointed at a real Kafka never gets the local
broker's ``KAFKA_ENABLE_IDEMPOTENCE=false`` mixed in.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "stack.env"
FILE_VARIABLE = "ORDERTALK_STACK_ENV"  # an explicit path of the file (another stack's var/, say)
GROUPS = (("KAFKA_",), ("MONGO_",), ("AUTH_",), ("EVENT_STORE", "SQLITE_", "POSTGRES_"), ("SMTP_",))
# What `make run` gives the services on its default ports (ordertalk_devstack.stack.derived_settings).
LOCAL_DEFAULTS: Mapping[str, str] = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "KAFKA_ENABLE_IDEMPOTENCE": "false",
    "MONGO_URL": "mongodb://127.0.0.1:27017",
    "MONGO_DB": "ordertalk",
    "EVENT_STORE": "sqlite",
    "EVENT_STORE_SQLITE_PATH": "var/eventstore.sqlite",
    "MESSAGING_URL": "http://127.0.0.1:8001",
    "PROJECTIONS_URL": "http://127.0.0.1:8002",
    "NOTIFIER_URL": "http://127.0.0.1:8003",
}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY")


@dataclass(frozen=True, slots=True)
class StackFile:
    """The settings a running (or once running) local stack wrote, and the process id of that stack."""

    path: Path
    pid: int | None
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class Setting:
    """One variable as the tool will use it, and where its value came from."""

    key: str
    value: str
    source: str


def parse(path: Path, text: str) -> StackFile:
    """Pure: read ``KEY=value`` lines (shell-quoted values) and the ``# pid:`` comment."""
    pid, values = None, {}
    for line in text.splitlines():
        if line.startswith("# pid:"):
            pid = int(line.removeprefix("# pid:").strip())
        elif line.strip() and not line.startswith("#"):
            key, _, quoted = line.partition("=")
            words = shlex.split(quoted)
            values[key.strip()] = words[0] if words else ""
    return StackFile(path, pid, values)


def group_of(key: str) -> tuple[str, ...]:
    """Pure: the group a variable belongs to (a variable outside every group is a group of its own)."""
    for prefixes in GROUPS:
        if key.startswith(prefixes):
            return prefixes
    return (key,)


def resolve(environ: Mapping[str, str], stack: Mapping[str, str] | None) -> list[Setting]:
    """Pure: every variable the tool uses, from the environment, else the stack's file, else the local defaults.

    A group the environment sets any variable of is taken from the environment alone; so is the whole
    of a group the stack's file has (the file then stands in for the environment the services got).
    """
    chosen: dict[str, Setting] = {}
    for key, value in environ.items():
        if key in LOCAL_DEFAULTS or (stack and key in stack) or _in_a_group(key):
            chosen[key] = Setting(key, value, "environment")
    taken = {group_of(key) for key in chosen}
    for source, values in (("stack", stack or {}), ("default", LOCAL_DEFAULTS)):
        offered = {group_of(key) for key in values} - taken
        for key, value in values.items():
            if group_of(key) in offered and key not in chosen:
                chosen[key] = Setting(key, value, source)
        taken |= offered
    return sorted(chosen.values(), key=lambda s: s.key)


def _in_a_group(key: str) -> bool:
    return any(key.startswith(prefixes) for prefixes in GROUPS)


def candidates(environ: Mapping[str, str], cwd: Path) -> list[Path]:
    """Where the stack's file may be: ``$ORDERTALK_STACK_ENV`` alone if set; else ``./var/``, then the
    ``var/`` beside the virtualenv this tool runs from (the repository's `.venv`, as `make run` made it)."""
    if FILE_VARIABLE in environ:
        return [Path(environ[FILE_VARIABLE])]
    found = [cwd / "var" / FILE_NAME]
    if sys.prefix != sys.base_prefix:
        found.append(Path(sys.prefix).resolve().parent / "var" / FILE_NAME)
    return found


def alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_stack_file(environ: Mapping[str, str], cwd: Path) -> tuple[StackFile | None, str | None]:
    """The file of a running stack, if one is found; otherwise a note on a file left by a stopped one."""
    note = None
    for path in candidates(environ, cwd):
        try:
            found = parse(path, path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        if found.pid is None or alive(found.pid):
            return found, None
        note = f"{path} was written by a stack that is no longer running (pid {found.pid}); ignored"
    return None, note


def apply(environ: MutableMapping[str, str], cwd: Path) -> tuple[list[Setting], StackFile | None, str | None]:
    """Fill ``environ`` with every variable it lacks (the delegated commands inherit them); returns what is used."""
    stack, note = load_stack_file(environ, cwd)
    settings = resolve(environ, stack.values if stack else None)
    for setting in settings:
        environ.setdefault(setting.key, setting.value)
    return settings, stack, note


def shown(setting: Setting) -> str:
    """A setting as it may be printed: secrets and credentials in URLs masked."""
    value = setting.value
    if any(word in setting.key for word in SECRET_WORDS) and value:
        value = "********"
    else:
        value = re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1********@", value)
    return f"{setting.key}={value}"
