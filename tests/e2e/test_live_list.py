"""Orders → Messages follows the bell row by row: an alert reads the thread's row, not the page and its total."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, Request, expect
from tests.e2e.stack_support import DemoOrder, System, api_post
from tests.support.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LIST = re.compile(r"/v1/threads(\?|$)")
ROW = re.compile(r"/v1/threads/([^/?]+)/row(\?|$)")


@dataclass
class Reads:
    """The projection API reads a page made: list pages (with their totals) and single rows, by order id."""

    lists: int = 0
    rows: list[str] = field(default_factory=list)

    def note(self, request: Request) -> None:
        path = request.url.split("://", 1)[-1].split("/", 1)[-1]
        if LIST.search("/" + path):
            self.lists += 1
        elif found := ROW.search("/" + path):
            self.rows.append(found.group(1))


def pumped(page: Page) -> bool:
    """Let Playwright deliver the page's events (the sync API delivers them only inside its own calls)."""
    page.evaluate("0")
    return True


def open_list(page: Page, url: str) -> Reads:
    """Open the list with its reads counted; answer once the page has read its list and the stream's first update
    (which reads it again: what happened before the stream was open is not in it) has been handled."""
    reads = Reads()
    page.on("request", reads.note)
    page.goto(url)
    expect(page.locator("#threads, #no-threads")).to_be_visible()
    wait_for(lambda: pumped(page) and reads.lists >= 2, 10, "the list read on load and after the stream's first update")
    expect(page.locator("#page-info, #no-threads")).to_be_visible()
    return reads


def customer_writes(system: System, order: DemoOrder, text: str) -> None:
    api_post(system, "customer", f"/v1/orders/{order.order_id}/messages", {"body": text})


def first_row_id(page: Page) -> str:
    return page.locator("#threads tbody tr").first.get_attribute("data-order-id") or ""


def shown_total(page: Page) -> int:
    found = re.search(r"of (\d+)$", page.locator("#page-info").inner_text())
    assert found, page.locator("#page-info").inner_text()
    return int(found.group(1))


def test_a_new_message_puts_its_row_on_top_without_reading_the_list(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    older, newer = new_order(), new_order()
    customer_writes(system, older, "A first question")
    admin = sign_in("admin-1")
    reads = open_list(admin, f"{system.web}/admin/messages")
    expect(admin.locator(f"tr[data-order-id='{older.order_id}']")).to_be_visible()
    lists, total = reads.lists, shown_total(admin)

    customer_writes(system, newer, "Where is my parcel?")  # a thread new to the list
    new_row = admin.locator(f"tr[data-order-id='{newer.order_id}']")
    expect(new_row.locator(".new-note")).to_have_text(f"New message for order {newer.order_number}")
    assert first_row_id(admin) == newer.order_id
    expect(admin.locator("#page-info")).to_contain_text(f"of {total + 1}")
    assert newer.order_id in reads.rows
    assert reads.lists == lists  # the row alone was read

    customer_writes(system, older, "Any news?")  # a thread already listed moves to the top
    expect(admin.locator(f"tr[data-order-id='{older.order_id}'] .excerpt-text")).to_have_text("Any news?")
    wait_for(lambda: first_row_id(admin) == older.order_id, 5, "the older thread on top")
    assert admin.locator("#threads tbody tr").nth(1).get_attribute("data-order-id") == newer.order_id
    expect(admin.locator("#page-info")).to_contain_text(f"of {total + 1}")
    assert reads.rows.count(older.order_id) >= 1
    assert reads.lists == lists


def test_the_unread_filter_drops_a_row_marked_read_elsewhere(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    kept, read_elsewhere = new_order(), new_order()
    customer_writes(system, kept, "Still waiting")
    customer_writes(system, read_elsewhere, "Please call me")
    admin = sign_in("admin-1")
    reads = open_list(admin, f"{system.web}/admin/messages?type=unread")
    gone = admin.locator(f"tr[data-order-id='{read_elsewhere.order_id}']")
    expect(gone).to_be_visible()
    total = shown_total(admin)
    lists = reads.lists

    api_post(system, "admin", f"/v1/orders/{read_elsewhere.order_id}/read", {})  # another staff member's screen
    expect(gone).to_have_count(0)
    expect(admin.locator(f"tr[data-order-id='{kept.order_id}']")).to_be_visible()
    expect(admin.locator("#page-info")).to_contain_text(f"of {total - 1}")
    assert read_elsewhere.order_id in reads.rows
    if total <= 25:  # the whole filter fits on the page: nothing has to move up, the page is patched
        assert reads.lists == lists
