"""No service writes a token to its log: after a browser story (sign-in, live bell, a post), every log is grepped."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.stack_support import DemoOrder, System
from tests.support.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]+")
SERVICES = ("messaging", "projections", "notifier", "web")


def session_token(page: Page) -> str:
    """The token the page's session holds (the one its requests and its bell stream carry)."""
    raw = page.evaluate(
        "() => sessionStorage.getItem('ordertalk.session') || localStorage.getItem('ordertalk.session')"
    )
    token = json.loads(raw)["token"]
    assert isinstance(token, str) and JWT.fullmatch(token)
    return token


def logs(system: System) -> dict[str, str]:
    """Every service's log so far."""
    log_dir: Path = system.stack.var / "log"
    return {name: (log_dir / f"{name}.log").read_text(errors="replace") for name in SERVICES}


def test_no_service_log_holds_a_token_after_a_browser_story(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    admin = sign_in("admin-1")
    customer = sign_in("customer-1")
    tokens = {session_token(admin), session_token(customer)}
    customer.goto(f"{system.web}/store/orders/{order.order_id}")
    customer.fill("#reply-body", "Is there a token in your logs?")
    customer.click("#reply-submit")
    expect(customer.locator("#thread .message")).to_have_count(1)
    expect(admin.locator("#bell")).to_have_attribute("data-threads-with-unread-messages", re.compile(r"^[1-9]\d*$"))

    # The bell streams were opened with the token in their query; wait until the access log has their lines.
    streams = wait_for(
        lambda: logs(system)["notifier"].count("/v1/stream") >= 2, what="the notifier's access log of both streams"
    )
    assert streams
    assert "/v1/stream?ticket=[redacted]" in logs(system)["notifier"]  # the page opens its stream with a ticket
    found = logs(system)
    for name, text in found.items():
        for token in tokens:
            assert token not in text, f"{name}'s log holds a session token"
            assert token.split(".")[2] not in text, f"{name}'s log holds a token's signature"
        assert not JWT.search(text), f"{name}'s log holds a JWT: {JWT.search(text)}"
        assert not re.search(r"access_token=(?!\[redacted\])", text), f"{name}'s log holds an access_token value"
