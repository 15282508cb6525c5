"""/docs of every service renders Swagger UI in a browser that can reach nothing but this machine."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from tests.e2e.stack_support import VIEWPORT, System, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
# One operation each document must show once rendered.
OPERATIONS = {
    "messaging": "/v1/orders/{order_id}/messages",
    "projections": "/v1/threads",
    "notifier": "/v1/stream",
    "web": "/dev/token",
}


@pytest.fixture
def offline(browser: Browser) -> Iterator[tuple[BrowserContext, list[str]]]:
    """A browser context whose every request off this machine is aborted (and recorded)."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    blocked: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).hostname not in LOOPBACK:
            blocked.append(url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route("**/*", only_loopback)
    try:
        yield context, blocked
    finally:
        context.close()


@pytest.mark.parametrize("service", sorted(OPERATIONS))
def test_docs_render_offline(system: System, offline: tuple[BrowserContext, list[str]], service: str) -> None:
    context, blocked = offline
    page: Page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{system.stack.url(service)}/docs")
    operation = page.locator(".opblock-summary-path", has_text=OPERATIONS[service]).first
    expect(operation).to_be_visible()
    assert page.locator(".opblock").count() >= 2
    if service != "web":  # the web service's only operations are the public dev sign-in
        expect(page.locator("button.authorize")).to_be_visible()  # the bearer scheme is declared
    screenshot(page, f"api-docs-{service}.png")
    assert blocked == [], f"/docs asked for outside resources: {blocked}"
