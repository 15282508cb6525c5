"""A long thread on screen: the latest page first, "Show older messages" above it, live updates keep what is loaded."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.e2e.axe_support import assert_accessible
from tests.e2e.stack_support import DemoOrder, System, api_post, screenshot
from tests.e2e.test_timeline_and_rows import timeline_ids
from tests.support.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

MESSAGES = 110  # pages of 50: 61-110 first, then 11-60, then 1-10
WORDS = ("parcel", "invoice", "courier", "colour", "refund")


def post_long_thread(system: System, order: DemoOrder) -> None:
    """110 messages, the customer and the store in turn; a dispute opened after message 3, closed after message 60."""
    path = f"/v1/orders/{order.order_id}"
    for n in range(1, MESSAGES + 1):
        # No digits in the text: the other tests search order numbers, which would find numbered messages.
        body: dict[str, object] = {"body": f"A line of the long thread about the {WORDS[n % len(WORDS)]}."}
        api_post(system, "customer" if n % 2 else "admin", f"{path}/messages", body)
        if n == 3:
            api_post(system, "customer", f"{path}/dispute", {"reason": "Half of the parcel is missing."})
        elif n == 60:
            api_post(system, "admin", f"{path}/dispute/close", {})
    headers = {"Authorization": f"Bearer {system.token('admin')}"}

    def applied() -> bool:
        url = f"{system.stack.url('projections')}/v1/threads/{order.order_id}"
        answer = httpx.get(url, headers=headers, params={"limit": 1}, timeout=5)
        return answer.status_code == 200 and answer.json()["message_count"] == MESSAGES

    wait_for(applied, 30, "the long thread in the projection API")


def shown_seqs(page: Page) -> list[int]:
    return [int(s) for s in page.eval_on_selector_all("#thread > li.message", "es => es.map(e => e.dataset.seq)")]


def top_of(page: Page, selector: str) -> float:
    return float(page.eval_on_selector(selector, "e => e.getBoundingClientRect().top"))


def stays_put(page: Page, selector: str, top: float) -> None:
    """Wait (bounded) until the entry at ``selector`` stands within 2 px of ``top`` on screen; fail if it never does."""
    page.wait_for_function(
        "([selector, top]) => { const e = document.querySelector(selector);"
        " return e !== null && Math.abs(e.getBoundingClientRect().top - top) <= 2; }",
        arg=[selector, top],
        timeout=5_000,
    )


def test_a_long_thread_shows_its_latest_page_and_loads_older_ones_on_demand(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    post_long_thread(system, order)
    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/orders/{order.order_id}#messages")
    expect(admin.locator("#thread .message")).to_have_count(50)
    assert shown_seqs(admin) == list(range(61, MESSAGES + 1))
    # The closed dispute happened before the first message shown: its entries wait for their page.
    expect(admin.locator("#thread .timeline-dispute")).to_have_count(0)
    older = admin.get_by_role("button", name="Show older messages")
    expect(older).to_be_visible()
    assert_accessible(admin, "a long thread with older messages to load")
    screenshot(admin, "admin-long-thread.png")

    # By keyboard: the entries on screen stay where they were, the focus stays on the button while more remain.
    admin.eval_on_selector('#thread > li[data-seq="61"]', "e => e.scrollIntoView({block: 'center'})")
    before = top_of(admin, '#thread > li[data-seq="61"]')
    older.focus()
    admin.keyboard.press("Enter")
    expect(admin.locator("#thread .message")).to_have_count(100)
    assert shown_seqs(admin) == list(range(11, MESSAGES + 1))
    assert abs(top_of(admin, '#thread > li[data-seq="61"]') - before) <= 2, "the view jumped"
    ids = timeline_ids(admin)
    assert ids[ids.index("m60") : ids.index("m60") + 3] == ["m60", "dispute-1-closed", "m61"]
    assert "dispute-1-opened" not in ids
    expect(older).to_be_focused()

    admin.keyboard.press("Enter")
    expect(admin.locator("#thread .message")).to_have_count(MESSAGES)
    expect(admin.locator("#older-messages")).to_have_count(0)
    expect(admin.locator("#thread")).to_be_focused()
    ids = timeline_ids(admin)
    assert ids[:6] == ["m1", "m2", "m3", "dispute-1-opened", "m4", "m5"]
    assert ids.count("dispute-1-closed") == 1 and len(ids) == MESSAGES + 2

    # A post of the store's, then a live update (the customer's message, through the bell) read while the admin
    # reads an old message: every page stays shown, and the message read does not move.
    admin.fill("#reply-body", "Everything is on its way again.")
    admin.click("#reply-submit")
    expect(admin.locator("#thread .message")).to_have_count(MESSAGES + 1)
    admin.eval_on_selector('#thread > li[data-seq="30"]', "e => e.scrollIntoView({block: 'center'})")
    before = top_of(admin, '#thread > li[data-seq="30"]')
    api_post(system, "customer", f"/v1/orders/{order.order_id}/messages", {"body": "Thank you, it arrived."})
    expect(admin.locator("#thread .message")).to_have_count(MESSAGES + 2)
    assert shown_seqs(admin) == list(range(1, MESSAGES + 3))
    expect(admin.locator("#older-messages")).to_have_count(0)
    expect(admin.locator("#thread .message").last).to_contain_text("Thank you, it arrived.")
    # The page settles (read on arrival: the tab's badge comes and goes) with the message where it was.
    stays_put(admin, '#thread > li[data-seq="30"]', before)

    # The customer's page pages the same way.
    customer = sign_in("customer-1")
    customer.goto(f"{system.web}/store/orders/{order.order_id}")
    expect(customer.locator("#thread .message")).to_have_count(50)
    assert shown_seqs(customer) == list(range(MESSAGES + 3 - 50, MESSAGES + 3))
    customer.get_by_role("button", name="Show older messages").click()
    expect(customer.locator("#thread .message")).to_have_count(100)
    customer.get_by_role("button", name="Show older messages").click()
    expect(customer.locator("#thread .message")).to_have_count(MESSAGES + 2)
    expect(customer.get_by_role("button", name="Show older messages")).to_have_count(0)
    assert timeline_ids(customer) == timeline_ids(admin)
