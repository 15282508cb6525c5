"""The admin on a phone (390 px wide): nothing cut off, no sideways scrolling, the main controls usable."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from tests.e2e.axe_support import assert_accessible
from tests.e2e.stack_support import DemoOrder, System, api_post, screenshot
from tests.support.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PHONE: ViewportSize = {"width": 390, "height": 844}


def assert_no_overflow(page: Page, screen: str) -> None:
    """The document is no wider than the viewport (nothing to scroll sideways, nothing cut off)."""
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: innerWidth})"
    )
    assert max(widths["scroll"], widths["body"]) <= widths["view"], f"{screen} overflows sideways: {widths}"


def assert_on_screen(page: Page, selector: str, what: str) -> None:
    """The first element matching ``selector`` is visible and lies inside the viewport's width (it can be tapped).

    Found, scrolled to and measured in one step: the lists re-render on every bell update.
    """
    expect(page.locator(selector).first).to_be_visible()

    def measure() -> dict[str, float] | None:
        box: dict[str, float] | None = page.evaluate(
            """(s) => {
                const el = document.querySelector(s);
                if (!el || !el.isConnected) return null;
                el.scrollIntoView({block: "nearest", inline: "nearest"});
                const r = el.getBoundingClientRect();
                return {x: r.left, width: r.width, height: r.height};
            }""",
            selector,
        )
        return box

    box = wait_for(measure, 10, f"{what} ({selector}) on the page")
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, f"{what} is cut off: {box}"
    assert box["width"] > 0 and box["height"] > 0, f"{what} is empty: {box}"


def test_admin_screens_fit_a_phone(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    word = f"phone{order.order_id[-6:]}"
    path = f"/v1/orders/{order.order_id}"
    api_post(system, "customer", f"{path}/messages", {"body": f"Hello, where is my parcel {word}? " + "long " * 40})
    api_post(system, "customer", f"{path}/dispute", {"reason": "The parcel arrived damaged."})
    admin = sign_in("admin-1")
    admin.set_viewport_size(PHONE)

    # Messages list: navigation, bell, filter, bulk actions and the rows all fit.
    admin.goto(f"{system.web}/admin/messages?q={word}")
    row = admin.locator(f"tr[data-order-id='{order.order_id}']")
    expect(row).to_be_visible()
    assert_no_overflow(admin, "Messages list")
    for selector, what in (
        ("#bell", "the bell"),
        ("#sidenav a[href='/admin/orders']", "the Orders list link"),
        ("#sidenav a[href='/admin/messages']", "the Messages link"),
        ("#filter-q", "the keywords box"),
        ("#filter-search", "Search"),
        ("#mark-read", "Mark as read"),
        ("#mark-unread", "Mark as unread"),
        ("#page-info", "the page summary"),
    ):
        assert_on_screen(admin, selector, what)
    row_css = f"tr[data-order-id='{order.order_id}']"
    assert_on_screen(admin, row_css, "the thread's row")
    assert_on_screen(admin, f"{row_css} .row-check", "the row's checkbox")
    assert_on_screen(admin, f"{row_css} .excerpt", "the row's excerpt")
    screenshot(admin, "admin-phone-messages.png")
    assert_accessible(admin, "admin-phone-messages (390 px)")

    admin.locator("#bell").click()
    menu = admin.locator("#bell-menu")
    assert_on_screen(admin, "#bell-menu", "the bell menu")
    assert_on_screen(admin, "#bell-disputes", "the menu's Disputes link")
    assert_no_overflow(admin, "the bell menu")
    screenshot(admin, "admin-phone-bell.png")
    assert_accessible(admin, "admin-phone-bell (390 px)")
    admin.keyboard.press("Escape")
    expect(menu).to_be_hidden()

    # Orders list.
    admin.locator("#sidenav a[href='/admin/orders']").click()
    admin.wait_for_url("**/admin/orders")
    expect(admin.locator("#orders")).to_be_visible()
    assert_no_overflow(admin, "Orders list")
    assert_on_screen(admin, "#filter-messages", "the Messages filter")
    assert_on_screen(admin, "#orders tbody tr .order-link", "an order's link")
    screenshot(admin, "admin-phone-orders.png")
    assert_accessible(admin, "admin-phone-orders (390 px)")

    # The order's Messages tab: red note, thread, reply box and Submit; a reply goes through.
    admin.goto(f"{system.web}/admin/messages?q={word}")
    row.locator(".excerpt").click()
    admin.wait_for_url(f"**/admin/orders/{order.order_id}#messages")
    expect(admin.locator("#thread .message")).to_have_count(1)
    assert_no_overflow(admin, "the order's Messages tab")
    for selector, what in (
        ("#tab-details", "the Details tab"),
        ("#tab-messages", "the Messages tab"),
        ("#dispute-note", "the dispute note"),
        ("#close-dispute", "Close dispute"),
        ("#thread .message", "the message"),
        ("#reply-body", "the reply box"),
        ("#reply-submit", "Submit"),
    ):
        assert_on_screen(admin, selector, what)
    screenshot(admin, "admin-phone-order-thread.png")
    assert_accessible(admin, "admin-phone-order-thread (390 px)")
    admin.fill("#reply-body", "Thanks, we are sending a new one.")
    admin.click("#reply-submit")
    expect(admin.locator("#thread .message")).to_have_count(2)
    assert_no_overflow(admin, "the thread after a reply")

    admin.click("#close-dispute")
    dialog = admin.locator("#close-dispute-dialog")
    assert_on_screen(admin, "#close-dispute-dialog", "the close-dispute confirmation")
    assert_on_screen(admin, "#close-dispute-dialog button[value='confirm']", "its Close dispute button")
    screenshot(admin, "admin-phone-close-dispute.png")
    assert_accessible(admin, "admin-phone-close-dispute (390 px)")
    dialog.get_by_role("button", name="Close dispute").click()
    expect(admin.locator("#dispute-note")).to_have_count(0)

    admin.click("#tab-details")
    expect(admin.locator("#details-panel")).to_be_visible()
    assert_no_overflow(admin, "the order's Details tab")
    screenshot(admin, "admin-phone-order-details.png")
    assert_accessible(admin, "admin-phone-order-details (390 px)")


def test_storefront_fits_a_phone(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    api_post(system, "admin", f"/v1/orders/{order.order_id}/messages", {"body": "Your order has shipped. " * 10})
    customer = sign_in("customer-1")
    customer.set_viewport_size(PHONE)
    item_css = f".store-thread[data-order-id='{order.order_id}']"
    expect(customer.locator(item_css)).to_be_visible()
    assert_no_overflow(customer, "My messages")
    assert_on_screen(customer, "#store-messages-link", "the Messages link")
    assert_on_screen(customer, f"{item_css} .order-link", "the conversation's link")
    screenshot(customer, "customer-phone-messages.png")
    assert_accessible(customer, "customer-phone-messages (390 px)")
    customer.locator(f"{item_css} .order-link").click()
    customer.wait_for_url(f"**/store/orders/{order.order_id}")
    expect(customer.locator("#thread .message")).to_have_count(1)
    assert_no_overflow(customer, "the order's thread")
    for selector, what in (
        ("#open-dispute", "Open dispute"),
        ("#reply-body", "the reply box"),
        ("#reply-submit", "Send"),
    ):
        assert_on_screen(customer, selector, what)
    screenshot(customer, "customer-phone-order.png")
    assert_accessible(customer, "customer-phone-order (390 px)")
