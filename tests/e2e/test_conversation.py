"""The whole story in the browser: customer writes, admin is alerted, reads, replies; a dispute opens and closes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.stack_support import DemoOrder, System, mail_text, screenshot
from tests.support.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

BELL_DEADLINE_MS = 1000
RED = "rgb(200, 30, 30)"


def bell_count(page: Page) -> int:
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("data-threads-with-news", re.compile(r"^\d+$"))
    return int(bell.get_attribute("data-threads-with-news") or "0")


def rows_for(admin: Page, web: str, q: str, kind: str) -> list[str]:
    admin.goto(f"{web}/admin/messages?q={q}&type={kind}")
    expect(admin.locator("#threads, #no-threads")).to_be_visible()
    return [r.get_attribute("data-order-id") or "" for r in admin.locator("#threads tbody tr").all()]


def test_customer_and_admin_talk_then_dispute(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    token = order.order_id.removeprefix("ord-")
    admin = sign_in("admin-1")
    before = bell_count(admin)

    # The customer writes from the order page ("Contact seller"); read-your-writes shows it at once.
    customer = sign_in("customer-1")
    customer.goto(f"{system.web}/store/orders/{order.order_id}")
    expect(customer.locator("#no-messages")).to_be_visible()
    customer.fill("#reply-body", f"Hello, where is my parcel {token}?\nTracking: https://example.com/track?id=1.")
    customer.click("#reply-submit")
    expect(customer.locator("#thread .message")).to_have_count(1)
    link = customer.locator("#thread .message-body a")
    expect(link).to_have_attribute("href", "https://example.com/track?id=1")
    assert "\n" in customer.locator("#thread .message-body").inner_text()

    # The admin's bell follows within a second, without a reload; the list refreshes itself.
    started = time.monotonic()
    expect(admin.locator("#bell")).to_have_attribute(
        "data-threads-with-news", str(before + 1), timeout=BELL_DEADLINE_MS
    )
    assert time.monotonic() - started < BELL_DEADLINE_MS / 1000 + 0.1
    row = admin.locator(f"tr[data-order-id='{order.order_id}']")
    expect(row.locator(".new-note")).to_have_text(f"New message for order {order.order_number}")
    screenshot(admin, "admin-messages.png")
    admin.click("#bell")
    expect(admin.locator("#bell-menu")).to_be_visible()
    expect(admin.locator("#bell-messages")).to_have_attribute("href", "/admin/messages?type=unread")
    expect(admin.locator("#bell-disputes")).to_have_attribute("href", "/admin/messages?type=unseen_disputes")
    admin.keyboard.press("Escape")
    expect(admin.locator("#bell-menu")).to_be_hidden()

    # A click anywhere on the row opens the order's thread; reading it clears the unread marks.
    row.locator(".col-message").click()
    admin.wait_for_url(f"**/admin/orders/{order.order_id}#messages")
    message = admin.locator("#thread .message").first
    expect(message.locator(".message-author")).to_have_text("Jane Doe")
    expect(message.locator(".role-chip")).to_have_text("Customer")
    expect(message.locator("time")).not_to_be_empty()
    expect(admin.locator("#messages-tab-badge")).to_be_hidden()
    expect(admin.locator("#bell")).to_have_attribute("data-threads-with-news", str(before))

    # The admin replies; the customer sees it live and gets an e-mail.
    admin.fill("#reply-body", "Thanks Jane, your parcel ships today.")
    admin.click("#reply-submit")
    expect(admin.locator("#thread .message")).to_have_count(2)
    expect(admin.locator("#reply-body")).to_have_value("")
    expect(customer.locator("#thread .message")).to_have_count(2)
    expect(customer.locator("#thread .message").nth(1)).to_contain_text("ships today")
    wait_for(
        lambda: any("ships today" in mail_text(m) for m in system.mails_to("jane@example.com")),
        20,
        "the reply's e-mail to jane@example.com",
    )

    # The customer opens a dispute with a reason and sees it in progress.
    customer.click("#open-dispute")
    dialog = customer.locator("#open-dispute-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#dispute-reason").fill("The parcel arrived damaged.")
    dialog.get_by_role("button", name="Open dispute").click()
    expect(dialog).to_have_count(0)
    today = datetime.now(ZoneInfo("Europe/Berlin")).strftime("%b %-d, %Y")
    expect(customer.locator("#dispute-note")).to_contain_text("A dispute is in progress")
    expect(customer.locator("#dispute-note")).to_contain_text(f"Dispute opened on {today}, by Jane Doe")
    expect(customer.locator("#close-dispute")).to_be_visible()
    screenshot(customer, "customer-order.png")

    # The admin sees the red note and, in the list, **Dispute** in red.
    note = admin.locator("#dispute-note")
    expect(note).to_contain_text(f"Dispute opened on {today}, by Jane Doe")
    expect(note).to_contain_text("The parcel arrived damaged.")
    expect(note).to_have_css("color", RED)
    screenshot(admin, "admin-order-thread.png")

    # Each filter returns the right rows (keywords: order number or message text).
    assert rows_for(admin, system.web, order.order_number.lstrip("#"), "all") == [order.order_id]
    assert rows_for(admin, system.web, token, "all") == [order.order_id]
    assert rows_for(admin, system.web, token, "disputes") == [order.order_id]
    flag = admin.locator(f"tr[data-order-id='{order.order_id}'] .dispute-flag")
    expect(flag).to_have_text("Dispute")
    expect(flag).to_have_css("color", RED)
    assert rows_for(admin, system.web, token, "unread") == []

    # Closing asks for confirmation; then the note disappears.
    admin.goto(f"{system.web}/admin/orders/{order.order_id}#messages")
    admin.click("#close-dispute")
    confirm = admin.locator("#close-dispute-dialog")
    expect(confirm).to_contain_text(f"Close the dispute on order {order.order_number}?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(admin.locator("#dispute-note")).to_be_visible()
    admin.click("#close-dispute")
    admin.locator("#close-dispute-dialog").get_by_role("button", name="Close dispute").click()
    expect(admin.locator("#dispute-note")).to_have_count(0)
    expect(admin.locator("#open-dispute")).to_be_visible()
    expect(customer.locator("#dispute-note")).to_have_count(0)
    assert rows_for(admin, system.web, token, "disputes") == []


def test_admin_opens_a_dispute_from_the_popup(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/orders/{order.order_id}#messages")
    bell = admin.locator("#bell")
    expect(bell).to_have_attribute("data-unseen-disputes", re.compile(r"^\d+$"))
    before = bell.get_attribute("data-unseen-disputes")
    customer = sign_in("customer-1")
    link = customer.locator("#store-messages-link")
    expect(link).to_have_attribute("data-threads-with-news", re.compile(r"^\d+$"))
    customer_news = int(link.get_attribute("data-threads-with-news") or "0")
    admin.click("#open-dispute")
    dialog = admin.locator("#open-dispute-dialog")
    dialog.locator("#dispute-reason").fill("Payment was charged twice.")
    screenshot(admin, "admin-open-dispute.png")
    dialog.get_by_role("button", name="Open dispute").click()
    expect(admin.locator("#dispute-note")).to_contain_text("by Admin Admin")
    # The staff's own dispute is news for the customer (the notifier has handled it), not for the staff.
    expect(link).to_have_attribute("data-threads-with-news", str(customer_news + 1))
    expect(admin.locator("#messages-tab-dispute")).to_be_hidden()
    assert bell.get_attribute("data-unseen-disputes") == before
    # Opening again while one is open is refused with a clear message (409 from the API).
    admin.evaluate("() => document.getElementById('close-dispute').remove()")
    api_error = admin.evaluate(
        """async (id) => {
            const api = await import('/static/js/api.js');
            try { await api.messaging.openDispute(id, 'again'); return null; } catch (e) { return e.status; }
        }""",
        order.order_id,
    )
    assert api_error == 409
