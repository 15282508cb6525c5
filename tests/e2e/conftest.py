"""The whole system for the browser tests: one running stack, one Chromium, demo orders, signed-in pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from tests.e2e.stack_support import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, DemoOrder, System, missing_services

from ordertalk_contracts import Customer
from ordertalk_devstack.processes import free_port
from ordertalk_devstack.stack import Stack, StackPorts, running_stack
from ordertalk_runtime.auth import AuthSettings, TokenCodec


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Stand-in Kafka, MongoDB and SMTP plus every service, on free ports, for the whole session."""
    missing = missing_services()
    if missing:
        pytest.skip(f"service not built yet: {', '.join(missing)}")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (make browser)")
    names = ("kafka", "mongo", "smtp", "web", "messaging", "projections", "notifier")
    ports = StackPorts(**{name: free_port() for name in names})
    var = tmp_path_factory.mktemp("stack")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGO_URL", "SMTP_HOST"):
            patch.delenv(name, raising=False)
        with running_stack(var, ports) as running:
            yield running


@pytest.fixture(scope="session")
def system(stack: Stack) -> System:
    return System(stack, TokenCodec(AuthSettings(jwt_secret=stack.env["AUTH_JWT_SECRET"])))


_counter = iter(range(1, 10_000))


@pytest.fixture
def new_order(system: System) -> Callable[..., DemoOrder]:
    """Register a fresh order (default customer: Jane Doe, customer-1)."""

    def make(customer_id: str = "customer-1", name: str = "Jane Doe", email: str = "jane@example.com") -> DemoOrder:
        # A fresh stack per session: shop-like sequential numbers; random ids keep each order's words unique.
        number = f"#{next(_counter) + 10:05d}"
        order = DemoOrder(f"ord-{uuid.uuid4().hex[:6]}", number, Customer(id=customer_id, name=name, email=email))
        system.register_orders(order)
        return order

    return make


@pytest.fixture(scope="session")
def playwright_instance(stack: Stack) -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    chromium = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield chromium
    finally:
        chromium.close()


SignIn = Callable[[str], Page]


@pytest.fixture
def sign_in(browser: Browser, system: System) -> Iterator[SignIn]:
    """Open a fresh browser context signed in (via the dev sign-in page) as a persona's subject."""
    contexts = []

    def open_as(subject: str) -> Page:
        context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="Europe/Berlin")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{system.web}/")
        page.locator(f"button.persona[data-subject='{subject}']").click()
        page.wait_for_url("**/admin/messages" if subject.startswith("admin") else "**/store/messages")
        return page

    yield open_as
    for context in contexts:
        context.close()
