"""What the browser tests share: the system under test, demo orders, polling and screenshots."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from playwright.sync_api import Page, ViewportSize
from tests.support.polling import wait_for

from ordertalk_contracts import ORDERS, Customer, OrderRegisteredV1, dump
from ordertalk_devstack.mailcatcher import read_mailbox
from ordertalk_devstack.stack import Stack
from ordertalk_runtime.auth import Principal, TokenCodec
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
SERVICES = {
    "messaging": "ordertalk_messaging",
    "projections": "ordertalk_projections",
    "notifier": "ordertalk_notifier",
}
# Screenshots go to test-artifacts/ (ignored by git); SCREENSHOT_DIR=docs/screenshots refreshes the README's.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots")
)
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


def missing_services() -> list[str]:
    """The services whose package (with a ``__main__``) is not installed here."""
    missing = []
    for name, module in SERVICES.items():
        try:
            found = importlib.util.find_spec(f"{module}.__main__") is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(f"{name} ({module})")
    return missing


@dataclass(frozen=True)
class DemoOrder:
    """An order announced on the ORDERS topic for a test."""

    order_id: str
    order_number: str
    customer: Customer


@dataclass
class System:
    """The running stack as the browser tests use it."""

    stack: Stack
    codec: TokenCodec

    @property
    def web(self) -> str:
        return self.stack.url("web")

    def token(self, role: str) -> str:
        principal = (
            Principal("admin", "admin-1", "Admin Admin")
            if role == "admin"
            else Principal("customer", "customer-1", "Jane Doe", "jane@example.com")
        )
        return self.codec.mint(principal)

    def register_orders(self, *orders: DemoOrder) -> None:
        """Announce orders as the shop's order service would, and wait until both sides know them."""
        settings = KafkaSettings(bootstrap_servers=self.stack.env["KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=False)

        async def produce() -> None:
            await ensure_topics(settings, [ORDERS])
            producer = AIOKafkaProducer(**settings.producer_kwargs())
            await producer.start()
            try:
                for order in orders:
                    event = OrderRegisteredV1(
                        event_id=uuid.uuid4(),
                        occurred_at=datetime.now(UTC),
                        order_id=order.order_id,
                        order_number=order.order_number,
                        customer=order.customer,
                        placed_at=datetime.now(UTC),
                    )
                    await producer.send_and_wait(ORDERS, dump(event), key=order.order_id.encode())
            finally:
                await producer.stop()

        # Playwright's sync API owns this thread's event loop: produce from a thread of our own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, produce()).result(timeout=60)
        headers = {"Authorization": f"Bearer {self.token('admin')}"}
        for order in orders:
            # Both consume the orders topic on their own: the read side knowing an order does not
            # mean the write side has started its thread yet.
            for service, path in (("projections", ""), ("messaging", "/history")):

                def known(order_id: str = order.order_id, service: str = service, path: str = path) -> bool:
                    url = f"{self.stack.url(service)}/v1/orders/{order_id}{path}"
                    return httpx.get(url, headers=headers, timeout=5).status_code == 200

                wait_for(known, 60, f"order {order.order_id} in the {service} API")

    def mails_to(self, address: str) -> list[EmailMessage]:
        """The e-mails the SMTP catcher received for ``address``."""
        return [m for m in read_mailbox(self.stack.var / "mail") if address in str(m.get("To", ""))]


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot of the page to docs/screenshots/ (shown in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def mail_text(message: EmailMessage) -> str:
    """The readable text of an e-mail (plain part, else HTML)."""
    part = message.get_body(preferencelist=("plain", "html"))
    return str(part.get_content()) if part is not None else ""


def api_post(system: System, role: str, path: str, body: dict[str, object]) -> dict[str, object]:
    """A write through the messaging API as the admin or Jane Doe (setting up a scene quickly)."""
    response = httpx.post(
        f"{system.stack.url('messaging')}{path}",
        json=body,
        headers={"Authorization": f"Bearer {system.token(role)}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    result: dict[str, object] = response.json()
    return result
