"""A fresh whole stack per fault scenario, with orders registered on the orders topic and customers to act as."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ordertalk_contracts import Customer
from ordertalk_devstack.processes import free_port
from ordertalk_devstack.stack import StackPorts, running_stack
from ordertalk_runtime.auth import AuthSettings, TokenCodec
from tests.e2e.stack_support import DemoOrder, System
from tests.faults.load import Load, Party
from tests.faults.observe import ADMIN_PRINCIPAL, Observer, principal_of
from tests.faults.stack_control import FaultStack

CUSTOMERS = 3
ORDERS_PER_CUSTOMER = 2
# Settings of the stack under test that differ from `make run`'s, and why.
STACK_SETTINGS = {
    "RATE_LIMIT_WRITES_PER_SECOND": "0",  # the load is one client per party: a rate limit would refuse it
    "RATE_LIMIT_ANONYMOUS_PER_SECOND": "0",
    "SQLITE_SYNCHRONOUS": "NORMAL",  # WAL without an fsync per commit: safe against a process kill, not power loss
    # A sender killed with e-mails claimed gets them back after the lease: 10 s instead of 30 s keeps the
    # scenario short; the lease is longer than any fault's pause here, so no live sender loses its claim.
    "NOTIFIER_LEASE_SECONDS": "10",
}


@dataclass
class Scene:
    """A running stack under fault, its orders, the load's parties and the observer that audits it."""

    faults: FaultStack
    observer: Observer
    parties: list[Party]
    customers: list[Customer]

    def announce_new_orders(self, count: int) -> None:
        """Announce ``count`` more orders of the first customer during the scenario; the audit expects threads."""
        customer = self.customers[0]
        tag = uuid.uuid4().hex[:6]
        orders = [DemoOrder(f"fault-late-{tag}-{n}", f"#{95000 + n:05d}", customer) for n in range(count)]
        self.faults.announce(*orders)
        self.observer.orders.update(order.order_id for order in orders)

    def load(self) -> Load:
        """A load (not started) over every party of the scene."""
        stack = self.faults.stack
        return Load(stack.url("messaging"), stack.url("projections"), stack.url("notifier"), self.parties)


@pytest.fixture
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """The whole system on stand-in servers and free ports, six registered orders of three customers."""
    names = ("kafka", "mongo", "smtp", "web", "messaging", "projections", "notifier")
    ports = StackPorts(**{name: free_port() for name in names})
    with pytest.MonkeyPatch.context() as patch:
        for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGO_URL", "SMTP_HOST"):
            patch.delenv(name, raising=False)
        for name, value in STACK_SETTINGS.items():
            patch.setenv(name, value)
        patch.setenv("CORS_ORIGINS", f"http://127.0.0.1:{ports.web}")
        with running_stack(tmp_path_factory.mktemp("faults"), ports) as stack:
            tag = uuid.uuid4().hex[:6]
            customers = [
                Customer(id=f"fault-{tag}-c{n}", name=f"Customer {n}", email=f"c{n}-{tag}@example.com")
                for n in range(1, CUSTOMERS + 1)
            ]
            orders = [
                DemoOrder(f"fault-{tag}-o{c}{k}", f"#{90000 + 10 * c + k:05d}", customer)
                for c, customer in enumerate(customers, 1)
                for k in range(1, ORDERS_PER_CUSTOMER + 1)
            ]
            System(stack, TokenCodec(AuthSettings(jwt_secret=stack.env["AUTH_JWT_SECRET"]))).register_orders(*orders)
            observer = Observer(stack, customers, {order.order_id for order in orders})
            all_orders = tuple(order.order_id for order in orders)
            parties = [Party("admin", observer.token(ADMIN_PRINCIPAL), all_orders)]
            for customer in customers:
                own = tuple(order.order_id for order in orders if order.customer == customer)
                parties.append(Party(customer.id, observer.token(principal_of(customer)), own))
            yield Scene(FaultStack(stack), observer, parties, customers)
