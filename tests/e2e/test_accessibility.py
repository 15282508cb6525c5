"""axe-core on every screen, admin and storefront: no serious or critical violation."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.axe_support import axe_violations, describe
from tests.e2e.stack_support import VIEWPORT, DemoOrder, System, api_post, screenshot

from ordertalk_runtime.auth import Principal

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


Check = Callable[[Page, str], None]


def check_order_threads(
    page: Page, check: Check, screens: tuple[str, str, str], calm_url: str, silent_url: str, silent_screen: str
) -> None:
    """``check`` a disputed thread, its close-dispute confirmation, a calm order's dispute popup, a silent order.

    ``page`` starts on the disputed order's thread (two messages); ``screens`` names those first three screens; the
    confirmation is cancelled, the popup closed with Escape.
    """
    thread_screen, confirmation_screen, popup_screen = screens
    expect(page.locator("#dispute-note")).to_be_visible()
    expect(page.locator("#thread .message")).to_have_count(2)
    check(page, thread_screen)
    page.click("#close-dispute")
    expect(page.locator("#close-dispute-dialog")).to_be_visible()
    check(page, confirmation_screen)
    page.locator("#close-dispute-dialog").get_by_role("button", name="Cancel").click()
    page.goto(calm_url)
    page.click("#open-dispute")
    expect(page.locator("#open-dispute-dialog")).to_be_visible()
    check(page, popup_screen)
    page.keyboard.press("Escape")
    page.goto(silent_url)
    expect(page.locator("#no-messages")).to_be_visible()
    check(page, silent_screen)


def test_every_screen_passes_axe(
    browser: Browser, system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    disputed, calm, silent = new_order(), new_order(), new_order()
    path = f"/v1/orders/{disputed.order_id}"
    api_post(system, "customer", f"{path}/messages", {"body": "Hello, where is my parcel?"})
    api_post(system, "admin", f"{path}/messages", {"body": "It ships today."})
    api_post(system, "customer", f"{path}/dispute", {"reason": "The parcel arrived damaged."})
    api_post(system, "customer", f"/v1/orders/{calm.order_id}/messages", {"body": "A question."})
    found: dict[str, str] = {}

    def check(page: Page, screen: str) -> None:
        violations = axe_violations(page)
        if violations:
            found[screen] = describe(violations)

    def visit(page: Page, url: str, shown: str, screen: str) -> None:
        page.goto(url)
        expect(page.locator(shown)).to_be_visible()
        check(page, screen)

    context = browser.new_context(viewport=VIEWPORT)
    try:
        signin = context.new_page()
        signin.goto(f"{system.web}/")
        expect(signin.locator("button.persona")).to_have_count(4)
        check(signin, "sign-in")
    finally:
        context.close()

    admin = sign_in("admin-1")
    expect(admin.locator("#threads")).to_be_visible()
    check(admin, "admin Messages list")
    admin.click("#bell")
    expect(admin.locator("#bell-menu")).to_be_visible()
    check(admin, "admin bell menu open")
    admin.keyboard.press("Escape")

    visit(admin, f"{system.web}/admin/orders", "#orders", "admin Orders list")
    visit(admin, f"{system.web}/admin/orders/{disputed.order_id}", "#details-panel", "admin order details tab")
    admin.click("#tab-messages")
    check_order_threads(
        admin,
        check,
        ("admin order Messages tab with an open dispute", "admin close-dispute confirmation", "admin dispute popup"),
        f"{system.web}/admin/orders/{calm.order_id}#messages",
        f"{system.web}/admin/orders/{silent.order_id}#messages",
        "admin order without messages (contact the customer)",
    )
    empty = f"{system.web}/admin/messages?q=nothing{uuid.uuid4().hex[:8]}"
    visit(admin, empty, "#no-threads", "admin Messages list, empty")
    visit(admin, f"{system.web}/admin/no-such-page", "h1", "admin page not found")

    customer = sign_in("customer-1")
    expect(customer.locator("#threads")).to_be_visible()
    check(customer, "storefront Messages list")
    customer.goto(f"{system.web}/store/orders/{disputed.order_id}")
    check_order_threads(
        customer,
        check,
        ("storefront order thread", "storefront close-dispute confirmation", "storefront dispute popup"),
        f"{system.web}/store/orders/{calm.order_id}",
        f"{system.web}/store/orders/{silent.order_id}",
        "storefront order without messages",
    )

    assert not found, "axe-core, serious/critical violations:\n" + "\n".join(
        f"{screen}:\n{text}" for screen, text in found.items()
    )


ARABIC = "مرحبا، أين طلبي؟ لم يصل بعد."
HEBREW = "שלום, החבילה הגיעה פגומה."


def direction(page: Page, selector: str, nth: int = 0) -> str:
    """The computed CSS direction of an element (``dir="auto"`` makes it follow the text's first strong letter).

    Looked up and measured in one step: the lists re-render on every bell update, and a node they dropped
    has no computed style.
    """
    expect(page.locator(selector).nth(nth)).to_be_visible()
    found = page.evaluate(
        "([s, n]) => { const e = document.querySelectorAll(s)[n]; return e ? getComputedStyle(e).direction : null; }",
        [selector, nth],
    )
    return str(found)


def test_right_to_left_text_runs_right_to_left(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order, other = new_order(), new_order()
    word = f"rtl{order.order_id[-6:]}"
    path = f"/v1/orders/{order.order_id}"
    api_post(system, "admin", f"{path}/messages", {"body": f"Hello Jane, order {word} ships today."})
    api_post(system, "customer", f"{path}/messages", {"body": ARABIC})
    api_post(system, "customer", f"{path}/dispute", {"reason": HEBREW})
    api_post(system, "admin", f"/v1/orders/{other.order_id}/messages", {"body": ARABIC})

    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/messages?q={word}")
    row_css = f"tr[data-order-id='{order.order_id}']"
    assert direction(admin, f"{row_css} .excerpt [dir='auto']") == "rtl"
    admin.fill("#filter-q", "بحث")
    assert direction(admin, "#filter-q") == "rtl"
    admin.goto(f"{system.web}/admin/orders/{order.order_id}#messages")
    bodies = admin.locator("#thread .message-body")
    expect(bodies).to_have_count(2)
    assert direction(admin, "#thread .message-body", 0) == "ltr"  # English stays left to right
    assert direction(admin, "#thread .message-body", 1) == "rtl"
    assert direction(admin, "#dispute-note .dispute-reason [dir='auto']") == "rtl"
    admin.fill("#reply-body", HEBREW)
    assert direction(admin, "#reply-body") == "rtl"
    admin.fill("#reply-body", "An English reply")
    assert direction(admin, "#reply-body") == "ltr"
    screenshot(admin, "admin-order-rtl.png")

    # The storefront: the store's Arabic message in My messages, the thread, the dispute reason and its box.
    customer = sign_in("customer-1")
    item_css = f".store-thread[data-order-id='{other.order_id}']"
    assert direction(customer, f"{item_css} .excerpt [dir='auto']") == "rtl"
    customer.goto(f"{system.web}/store/orders/{order.order_id}")
    assert direction(customer, "#thread .message-body", 1) == "rtl"
    assert direction(customer, "#dispute-note .dispute-reason [dir='auto']") == "rtl"
    customer.goto(f"{system.web}/store/orders/{other.order_id}")
    assert direction(customer, "#thread .message-body") == "rtl"
    customer.click("#open-dispute")
    customer.locator("#open-dispute-dialog #dispute-reason").fill(HEBREW)
    assert direction(customer, "#open-dispute-dialog #dispute-reason") == "rtl"


def test_empty_lists_say_there_is_nothing_to_show(
    browser: Browser, system: System, sign_in: Callable[[str], Page]
) -> None:
    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/messages?q=nothing{uuid.uuid4().hex[:8]}")
    expect(admin.locator("#no-threads")).to_have_text("No conversations match the filter.")
    expect(admin.locator("#page-info")).to_have_count(0)
    expect(admin.locator("#results")).not_to_contain_text("0–0")
    admin.goto(f"{system.web}/admin/messages?type=unread&page=9999")
    expect(admin.locator("#no-threads")).to_be_visible()
    assert admin.locator("#no-threads").inner_text() in ("Nothing on this page.", "No conversations match the filter.")
    admin.goto(f"{system.web}/admin/orders?page=9999")
    expect(admin.locator("#no-orders")).to_be_visible()
    expect(admin.locator("#results")).not_to_contain_text("0 order")

    # A customer of the shop who has never written: My messages says so, with no count of nothing.
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{system.web}/")
        newcomer = Principal("customer", f"customer-{uuid.uuid4().hex[:8]}", "Noor Haddad", "noor@example.com")
        user = {"subject": newcomer.subject, "role": "customer", "name": newcomer.display_name, "email": newcomer.email}
        page.evaluate(
            "async (session) => (await import('/static/js/session.js')).setSession(session)",
            {"token": system.codec.mint(newcomer), "user": user},
        )
        page.goto(f"{system.web}/store/messages")
        expect(page.locator("#no-threads")).to_have_text(
            "You have no messages yet. Open one of your orders to contact the seller."
        )
        expect(page.locator("#main")).not_to_contain_text("0–0")
        check_page = axe_violations(page)
        assert not check_page, describe(check_page)
    finally:
        context.close()
