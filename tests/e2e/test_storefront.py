"""Storefront: sign-in page, My messages with live unread indicator, and untrusted text rendered as text."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.stack_support import VIEWPORT, DemoOrder, System, api_post, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PAYLOAD = "<img src=x onerror=window.__xss=1>"


def test_signin_page_lists_the_demo_people(browser: Browser, system: System) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{system.web}/admin/messages")
        page.wait_for_url("**/?next=*")
        expect(page.locator("button.persona")).to_have_count(4)
        expect(page.locator("button.persona[data-subject='admin-1']")).to_contain_text("Admin Admin")
        screenshot(page, "signin.png")
        page.locator("button.persona[data-subject='admin-1']").click()
        page.wait_for_url("**/admin/messages")
        expect(page.locator("#user-name")).to_have_text("Admin Admin")
    finally:
        context.close()


def test_my_messages_show_unread_live(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    customer = sign_in("customer-1")
    badge = customer.locator("#store-unread")
    link = customer.locator("#store-messages-link")
    expect(link).to_have_attribute("data-threads-with-news", re.compile(r"^\d+$"))
    before = int(link.get_attribute("data-threads-with-news") or "0")
    api_post(system, "admin", f"/v1/orders/{order.order_id}/messages", {"body": "Your order has shipped."})
    expect(link).to_have_attribute("data-threads-with-news", str(before + 1))
    expect(badge).to_have_text(str(before + 1))
    item = customer.locator(f".store-thread[data-order-id='{order.order_id}']")
    expect(item).to_have_class("store-thread unread")
    expect(item.locator(".new-chip")).to_have_text("1 new message")
    screenshot(customer, "customer-messages.png")
    item.locator(".excerpt").click()
    customer.wait_for_url(f"**/store/orders/{order.order_id}")
    expect(customer.locator("#thread .message")).to_have_count(1)
    expect(customer.locator("#thread .message .message-author")).to_have_text("Admin Admin")
    expect(link).to_have_attribute("data-threads-with-news", str(before))


def test_script_payloads_render_as_text(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order(customer_id="customer-2", name=f"John {PAYLOAD}", email="john@example.com")
    customer = sign_in("customer-2")
    customer.goto(f"{system.web}/store/orders/{order.order_id}")
    body = f"Look: {PAYLOAD} <script>window.__xss=2</script> javascript:alert(1)"
    customer.fill("#reply-body", body)
    customer.click("#reply-submit")
    expect(customer.locator("#thread .message-body")).to_have_text(body)
    customer.click("#open-dispute")
    customer.locator("#dispute-reason").fill(f"Reason {PAYLOAD}")
    customer.locator("#open-dispute-dialog").get_by_role("button", name="Open dispute").click()
    expect(customer.locator("#dispute-note .dispute-reason")).to_have_text(f"Reason: Reason {PAYLOAD}")
    assert customer.evaluate("() => window.__xss") is None
    assert customer.locator("#thread .message-body a").count() == 0

    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/messages?q={order.order_number.lstrip('#')}")
    row = admin.locator(f"tr[data-order-id='{order.order_id}']")
    expect(row).to_contain_text(f"John {PAYLOAD}")
    expect(row.locator(".excerpt")).to_contain_text(PAYLOAD)
    admin.goto(f"{system.web}/admin/orders/{order.order_id}#messages")
    expect(admin.locator(".page-head")).to_contain_text(f"John {PAYLOAD}")
    expect(admin.locator("#thread .message-body")).to_have_text(body)
    expect(admin.locator("#dispute-note")).to_contain_text(f"Reason {PAYLOAD}")
    assert admin.locator("img").count() == 0
    assert admin.evaluate("() => window.__xss") is None
