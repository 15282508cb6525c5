"""The whole system on one machine: stand-in servers plus every service, for `make run` and tests."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ordertalk_devstack.ports import StackPorts, taken
from ordertalk_devstack.processes import ManagedProcess, python_argv, stop_all
from ordertalk_devstack.servers import start_kafka, start_mailcatcher, start_mongo
from ordertalk_devstack.settings_file import remove_settings_file, service_settings, write_settings_file

__all__ = ["DEV_JWT_SECRET", "Stack", "StackPorts", "running_stack", "stack_environment"]

DEV_JWT_SECRET = "dev-secret-change-me-0123456789abcdef"  # noqa: S105 - local stack only


@dataclass(frozen=True)
class ServiceSpec:
    """A service of the system: its package and the port it serves HTTP on."""

    name: str
    module: str
    port: int

    def installed(self) -> bool:
        """Whether the service's package exists in this environment."""
        return importlib.util.find_spec(self.module) is not None


@dataclass
class Stack:
    """Running servers and services, with the environment that points at them."""

    var: Path
    ports: StackPorts
    env: dict[str, str]
    processes: list[ManagedProcess] = field(default_factory=list)
    services: dict[str, ManagedProcess] = field(default_factory=dict)

    def url(self, service: str) -> str:
        """Base URL of a service of this stack."""
        return f"http://127.0.0.1:{getattr(self.ports, service)}"

    def stop(self, hurry: Callable[[], bool] = lambda: False) -> None:
        """Stop everything within 5 s: the services together, then the servers together; SIGKILL what overruns.

        ``hurry()`` (a second Ctrl-C) turns the rest of the stop into SIGKILL at once.
        """
        service_ids = {id(proc) for proc in self.services.values()}
        services = [proc for proc in self.processes if id(proc) in service_ids]
        servers = [proc for proc in self.processes if id(proc) not in service_ids]
        stop_all([services, servers], hurry=hurry)


def service_specs(ports: StackPorts) -> list[ServiceSpec]:
    """The services of the system, in start order."""
    return [
        ServiceSpec("messaging", "ordertalk_messaging", ports.messaging),
        ServiceSpec("projections", "ordertalk_projections", ports.projections),
        ServiceSpec("notifier", "ordertalk_notifier", ports.notifier),
        ServiceSpec("web", "ordertalk_web", ports.web),
    ]


def stack_environment(var: Path, ports: StackPorts, external: bool) -> dict[str, str]:
    """Environment for the services: the stand-ins unless real servers are configured; URLs follow ``ports``.

    Whatever the environment sets already wins, except where a stand-in is started: then the services
    are pointed at it (its port included).
    """
    env = dict(os.environ)
    defaults = derived_settings(var, ports, external)
    for key, value in defaults.items():
        env.setdefault(key, value)
    if "SMTP_HOST" not in os.environ:  # the stand-in catcher: a stray SMTP_PORT must not point elsewhere
        env["SMTP_PORT"] = str(ports.smtp)
    return env


def derived_settings(var: Path, ports: StackPorts, external: bool) -> dict[str, str]:
    """Pure: the settings the stack gives its services unless the environment sets them (they follow ``ports``)."""
    web = f"http://127.0.0.1:{ports.web}"
    return {
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports.kafka}",
        "KAFKA_ENABLE_IDEMPOTENCE": "false",
        # The local broker (Tansu) holds a static member's JoinGroup and SyncGroup 3 s each, and lets a dead
        # dynamic member go after the session: a 1 s session resumes a restarted consumer in ~1.2 s (10 s: ~18 s).
        # A real Kafka refuses sessions below 6 s, so with one configured the services keep KafkaSettings' own.
        **({} if external else {"KAFKA_SESSION_TIMEOUT_MS": "1000", "KAFKA_HEARTBEAT_INTERVAL_MS": "300"}),
        "MONGO_URL": f"mongodb://127.0.0.1:{ports.mongo}",
        "MONGO_DB": "ordertalk",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(ports.smtp),
        "EVENT_STORE": "sqlite",
        "EVENT_STORE_SQLITE_PATH": str(var / "eventstore.sqlite"),
        "AUTH_JWT_SECRET": DEV_JWT_SECRET,
        "RELAY_REPUBLISH_ON_START": "false" if external else "true",
        "MESSAGING_URL": f"http://127.0.0.1:{ports.messaging}",
        "PROJECTIONS_URL": f"http://127.0.0.1:{ports.projections}",
        "NOTIFIER_URL": f"http://127.0.0.1:{ports.notifier}",
        "WEB_URL": web,
        "ADMIN_BASE_URL": f"{web}/admin",
        "STOREFRONT_BASE_URL": f"{web}/store",
        # The screens are served from the web port (and may be opened as localhost): the APIs must accept both.
        "CORS_ORIGINS": f"{web},http://localhost:{ports.web}",
        "WEB_DEV_SIGNIN": "true",
    }


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def start_service(spec: ServiceSpec, env: dict[str, str], log_dir: Path, timeout: float = 60.0) -> ManagedProcess:
    """Start one service (``python -m <module> serve``) and wait for its /healthz."""
    argv = python_argv("-m", spec.module, "serve", "--host", "127.0.0.1", "--port", str(spec.port))
    proc = ManagedProcess(spec.name, argv, log_dir / f"{spec.name}.log", env=env)
    return proc.start(lambda: _healthy(spec.port), timeout=timeout)


@contextmanager
def running_stack(
    var: Path, ports: StackPorts | None = None, services: bool = True, hurry: Callable[[], bool] = lambda: False
) -> Iterator[Stack]:
    """Check every port, start the servers not configured from outside, then the installed services; stop all on exit.

    ``ports`` defaults to the DEVSTACK_* variables' (see ``ordertalk_devstack.ports``); ``hurry`` is
    passed to ``Stack.stop``.
    """
    ports = ports or StackPorts.from_env()
    problems = taken(ports, services=services)
    if problems:  # all of them at once, before anything starts
        raise SystemExit("\n".join(problems))
    log_dir = var / "log"
    external_kafka = "KAFKA_BOOTSTRAP_SERVERS" in os.environ
    stack = Stack(var, ports, stack_environment(var, ports, external_kafka))
    try:
        if not external_kafka:
            stack.processes.append(start_kafka(ports.kafka, log_dir))
        if "MONGO_URL" not in os.environ:
            stack.processes.append(start_mongo(ports.mongo, var / "mongo", log_dir))
        if "SMTP_HOST" not in os.environ:
            stack.processes.append(start_mailcatcher(ports.smtp, var / "mail", log_dir))
        if services:
            for spec in service_specs(ports):
                if spec.installed():
                    proc = start_service(spec, stack.env, log_dir)
                    stack.processes.append(proc)
                    stack.services[spec.name] = proc
        # For ordertalk-ops: the operator's shell then needs no variable to reach this stack.
        derived = derived_settings(var, ports, external_kafka)
        write_settings_file(var, service_settings(stack.env, derived))
        yield stack
    finally:
        remove_settings_file(var)
        stack.stop(hurry)
