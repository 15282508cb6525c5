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


def assert_fits(page: Page, screen: str, shot: str, *on_screen: tuple[str, str]) -> None:
    """``screen`` fits: no sideways overflow, ``on_screen`` tappable, axe-core clean; screenshot ``shot``.png saved."""
    assert_no_overflow(page, screen)
    for selector, what in on_screen:
        assert_on_screen(page, selector, what)
    screenshot(page, f"{shot}.png")
    assert_accessible(page, f"{shot} (390 px)")


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
    row_css = f"tr[data-order-id='{order.order_id}']"
    row = admin.locator(row_css)
    expect(row).to_be_visible()
    assert_fits(
        admin,
        "Messages list",
        "admin-phone-messages",
        ("#bell", "the bell"),
        ("#sidenav a[href='/admin/orders']", "the Orders list link"),
        ("#sidenav a[href='/admin/messages']", "the Messages link"),
        ("#filter-q", "the keywords box"),
        ("#filter-search", "Search"),
        ("#mark-read", "Mark as read"),
        ("#mark-unread", "Mark as unread"),
        ("#page-info", "the page summary"),
        (row_css, "the thread's row"),
        (f"{row_css} .row-check", "the row's checkbox"),
        (f"{row_css} .excerpt", "the row's excerpt"),
    )

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
    assert_fits(
        admin,
        "Orders list",
        "admin-phone-orders",
        ("#filter-messages", "the Messages filter"),
        ("#orders tbody tr .order-link", "an order's link"),
    )

    # The order's Messages tab: red note, thread, reply box and Submit; a reply goes through.
    admin.goto(f"{system.web}/admin/messages?q={word}")
    row.locator(".excerpt").click()
    admin.wait_for_url(f"**/admin/orders/{order.order_id}#messages")
    expect(admin.locator("#thread .message")).to_have_count(1)
    assert_fits(
        admin,
        "the order's Messages tab",
        "admin-phone-order-thread",
        ("#tab-details", "the Details tab"),
        ("#tab-messages", "the Messages tab"),
        ("#dispute-note", "the dispute note"),
        ("#close-dispute", "Close dispute"),
        ("#thread .message", "the message"),
        ("#reply-body", "the reply box"),
        ("#reply-submit", "Submit"),
    )
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
    assert_fits(admin, "the order's Details tab", "admin-phone-order-details")


def test_storefront_fits_a_phone(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    api_post(system, "admin", f"/v1/orders/{order.order_id}/messages", {"body": "Your order has shipped. " * 10})
    customer = sign_in("customer-1")
    customer.set_viewport_size(PHONE)
    item_css = f".store-thread[data-order-id='{order.order_id}']"
    expect(customer.locator(item_css)).to_be_visible()
    assert_fits(
        customer,
        "My messages",
        "customer-phone-messages",
        ("#store-messages-link", "the Messages link"),
        (f"{item_css} .order-link", "the conversation's link"),
    )
    customer.locator(f"{item_css} .order-link").click()
    customer.wait_for_url(f"**/store/orders/{order.order_id}")
    expect(customer.locator("#thread .message")).to_have_count(1)
    assert_fits(
        customer,
        "the order's thread",
        "customer-phone-order",
        ("#open-dispute", "Open dispute"),
        ("#reply-body", "the reply box"),
        ("#reply-submit", "Send"),
    )
