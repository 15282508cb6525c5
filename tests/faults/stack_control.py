"""The faults a scenario injects into a running stack: SIGKILL and restart, SIGSTOP/SIGCONT, stop and start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from ordertalk_contracts import ORDERS, OrderRegisteredV1, dump
from ordertalk_devstack.processes import ManagedProcess
from ordertalk_devstack.servers import start_kafka, start_mailcatcher
from ordertalk_devstack.stack import ServiceSpec, Stack, service_specs, start_service
from ordertalk_runtime.kafka import KafkaSettings
from tests.e2e.stack_support import DemoOrder

SERVERS = ("kafka", "mongo", "smtp")


@dataclass
class FaultStack:
    """A running stack (``running_stack``) with handles to break and mend its processes."""

    stack: Stack

    def process(self, name: str) -> ManagedProcess:
        """The live process of a server (kafka, mongo, smtp) or service (messaging, projections, notifier)."""
        if name in self.stack.services:
            return self.stack.services[name]
        found = [proc for proc in self.stack.processes if proc.name == name]
        assert found, f"no process {name} in this stack"
        return found[-1]

    def _replace(self, old: ManagedProcess, new: ManagedProcess) -> None:
        self.stack.processes[self.stack.processes.index(old)] = new
        if old.name in self.stack.services:
            self.stack.services[old.name] = new

    def _spec(self, name: str) -> ServiceSpec:
        return next(spec for spec in service_specs(self.stack.ports) if spec.name == name)

    def kill(self, name: str) -> None:
        """SIGKILL a service's whole process group, as a crash or an OOM kill would."""
        self.process(name).kill()

    def restart(self, name: str) -> None:
        """Start a killed service again on its port and wait for its /healthz."""
        old = self.process(name)
        assert not old.alive(), f"{name} still runs"
        self._replace(old, start_service(self._spec(name), self.stack.env, self.stack.var / "log"))

    @contextmanager
    def paused(self, name: str) -> Iterator[None]:
        """SIGSTOP a server's process group for the block (its sockets stay open, nothing answers), SIGCONT after."""
        group = self.process(name).pid
        assert group is not None
        os.killpg(group, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(group, signal.SIGCONT)

    def stop_mail(self) -> None:
        """Stop the SMTP catcher (connections are refused until ``start_mail``)."""
        self.process("smtp").stop()

    def start_mail(self) -> None:
        """Start the SMTP catcher again on its port, keeping the same mail directory."""
        old = self.process("smtp")
        assert not old.alive()
        self._replace(old, start_mailcatcher(self.stack.ports.smtp, self.stack.var / "mail", self.stack.var / "log"))

    def wipe_broker(self) -> None:
        """Restart the broker empty (the stand-in keeps topics and offsets in memory only)."""
        old = self.process("kafka")
        old.kill()
        self._replace(old, start_kafka(self.stack.ports.kafka, self.stack.var / "log"))

    def announce(self, *orders: DemoOrder) -> None:
        """Announce orders on the orders topic as the shop would, without waiting for anyone to consume them."""
        settings = KafkaSettings(bootstrap_servers=self.stack.env["KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=False)

        async def produce() -> None:
            producer = AIOKafkaProducer(**settings.producer_kwargs())
            await producer.start()
            try:
                for order in orders:
                    now = datetime.now(UTC)
                    event = OrderRegisteredV1(
                        event_id=uuid.uuid4(),
                        occurred_at=now,
                        order_id=order.order_id,
                        order_number=order.order_number,
                        customer=order.customer,
                        placed_at=now,
                    )
                    await producer.send_and_wait(ORDERS, dump(event), key=order.order_id.encode())
            finally:
                await producer.stop()

        asyncio.run(produce())

    def ops(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``ordertalk-ops`` with the stack's settings, as an operator on this stack would."""
        return subprocess.run(
            [sys.executable, "-m", "ordertalk_ops", *args],
            env=self.stack.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def ops_has(command: str) -> bool:
    """Whether ``ordertalk-ops`` has this sub-command (``--help`` of an unknown one is a usage error)."""
    argv = [sys.executable, "-m", "ordertalk_ops", command, "--help"]
    return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode == 0
