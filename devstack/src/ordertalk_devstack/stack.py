"""The whole system on one machine: stand-in servers plus every service, for `make run` and tests."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ordertalk_devstack.processes import ManagedProcess, port_open, python_argv
from ordertalk_devstack.servers import start_kafka, start_mailcatcher, start_mongo

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

    def stop(self) -> None:
        """Stop every process, services first."""
        for proc in reversed(self.processes):
            proc.stop()


def service_specs(ports: StackPorts) -> list[ServiceSpec]:
    """The services of the system, in start order."""
    return [
        ServiceSpec("messaging", "ordertalk_messaging", ports.messaging),
        ServiceSpec("projections", "ordertalk_projections", ports.projections),
        ServiceSpec("notifier", "ordertalk_notifier", ports.notifier),
        ServiceSpec("web", "ordertalk_web", ports.web),
    ]


def stack_environment(var: Path, ports: StackPorts, external: bool) -> dict[str, str]:
    """Environment for the services: the stand-ins unless real servers are configured."""
    env = dict(os.environ)
    defaults = {
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports.kafka}",
        "KAFKA_ENABLE_IDEMPOTENCE": "false",
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
        "WEB_URL": f"http://127.0.0.1:{ports.web}",
        "ADMIN_BASE_URL": f"http://127.0.0.1:{ports.web}/admin",
        "STOREFRONT_BASE_URL": f"http://127.0.0.1:{ports.web}/store",
        "WEB_DEV_SIGNIN": "true",
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    return env


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
def running_stack(var: Path, ports: StackPorts | None = None, services: bool = True) -> Iterator[Stack]:
    """Start servers not configured from outside, then the installed services; stop all on exit."""
    ports = ports or StackPorts()
    log_dir = var / "log"
    external_kafka = "KAFKA_BOOTSTRAP_SERVERS" in os.environ
    stack = Stack(var, ports, stack_environment(var, ports, external_kafka))
    try:
        if not external_kafka:
            _check_free(ports.kafka, "Kafka")
            stack.processes.append(start_kafka(ports.kafka, log_dir))
        if "MONGO_URL" not in os.environ:
            _check_free(ports.mongo, "MongoDB")
            stack.processes.append(start_mongo(ports.mongo, var / "mongo", log_dir))
        if "SMTP_HOST" not in os.environ:
            _check_free(ports.smtp, "SMTP")
            stack.processes.append(start_mailcatcher(ports.smtp, var / "mail", log_dir))
        if services:
            for spec in service_specs(ports):
                if spec.installed():
                    _check_free(spec.port, spec.name)
                    proc = start_service(spec, stack.env, log_dir)
                    stack.processes.append(proc)
                    stack.services[spec.name] = proc
        yield stack
    finally:
        stack.stop()


def _check_free(port: int, what: str) -> None:
    if port_open(port):
        raise SystemExit(f"port {port} for {what} is taken; stop what uses it or choose other ports")
