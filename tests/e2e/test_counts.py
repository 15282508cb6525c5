"""One vocabulary for every count: bell, menu, sidebar, tab label and storefront badge agree with it, live."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.e2e.stack_support import DemoOrder, System, api_post, screenshot
from tests.support.polling import wait_for

from ordertalk_runtime.auth import Principal

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADA = Principal("customer", "customer-3", "Ada Lovelace", "ada@example.com")  # no other browser test writes for her
FIGURES = ("threads-with-news", "threads-with-unread-messages", "unseen-disputes")


def as_ada(system: System, path: str, body: dict[str, object]) -> None:
    """A write through the messaging API as Ada (the customer of this test's orders)."""
    response = httpx.post(
        f"{system.stack.url('messaging')}{path}",
        json=body,
        headers={"Authorization": f"Bearer {system.codec.mint(ADA)}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text


def admin_figures(page: Page) -> tuple[int, int, int]:
    """The bell's three figures (badge, Messages, Disputes) once the first counts have arrived."""
    bell = page.locator("#bell")
    for name in FIGURES:
        expect(bell).to_have_attribute(f"data-{name}", re.compile(r"^\d+$"))
    news, messages, disputes = (int(bell.get_attribute(f"data-{name}") or "0") for name in FIGURES)
    return news, messages, disputes


def expect_admin_figures(page: Page, news: int, messages: int, disputes: int) -> None:
    """Badge, menu lines and sidebar show these figures, each labelled with what it counts."""
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("data-threads-with-news", str(news))
    expect(bell).to_have_attribute("data-threads-with-unread-messages", str(messages))
    expect(bell).to_have_attribute("data-unseen-disputes", str(disputes))
    for selector, figure in (
        ("#bell-badge", news),
        ("#bell-messages-count", messages),
        ("#bell-disputes-count", disputes),
    ):
        badge = page.locator(selector)
        expect(badge).to_have_text(str(figure))
        expect(badge).to_have_attribute("title", re.compile(rf": {figure}$"))
    expect(bell).to_have_attribute("aria-label", re.compile(rf"^Notifications: {news} conversations? with news"))
    expect(page.locator("#bell-messages")).to_have_attribute("aria-label", re.compile(rf"^Messages: {messages} conv"))
    expect(page.locator("#bell-disputes")).to_have_attribute("aria-label", re.compile(rf"^Disputes: {disputes} open"))
    # The sidebar's Messages badge is the bell's Messages figure.
    expect(page.locator("#nav-messages-count")).to_have_text(str(messages))
    expect(page.locator("#nav-messages")).to_have_attribute("aria-label", re.compile(rf"^Messages: {messages} conv"))
    expect(page.locator("#bell-badge")).to_have_attribute("title", re.compile("unread messages or a dispute"))


def expect_store_badge(page: Page, news: int) -> None:
    link = page.locator("#store-messages-link")
    expect(link).to_have_attribute("data-threads-with-news", str(news))
    expect(link).to_have_attribute("aria-label", re.compile(rf"^Messages: {news} conversations? with news for you"))
    badge = page.locator("#store-unread")
    if news:
        expect(badge).to_have_text(str(news))
        expect(badge).to_have_attribute("title", re.compile(rf"^Conversations with news for you.*: {news}$"))
    else:
        expect(badge).to_be_hidden()


def listed_total(page: Page, link: str) -> int:
    """Follow a bell menu line and read how many threads the list it opens holds."""
    page.click("#bell")
    page.click(link)
    page.wait_for_url(re.compile(r"/admin/messages\?type="))
    info = page.locator("#page-info")
    expect(info).to_have_text(re.compile(r"of \d+$"))
    match = re.search(r"of (\d+)$", info.inner_text())
    assert match is not None
    return int(match.group(1))


def test_bell_menu_sidebar_tab_and_storefront_agree_live(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    def ada_order() -> DemoOrder:
        return new_order(customer_id=ADA.subject, name=ADA.display_name, email=ADA.email or "")

    chatty, quiet, own, answered = ada_order(), ada_order(), ada_order(), ada_order()
    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/orders/{quiet.order_id}")  # its Details tab: the Messages tab's label shows
    expect(admin.locator("#details-panel")).to_be_visible()
    news, messages, disputes = admin_figures(admin)
    expect_admin_figures(admin, news, messages, disputes)
    ada = sign_in(ADA.subject)
    expect_store_badge(ada, 0)  # Ada's orders are all new: nothing has happened in them

    # Ada writes twice on one order: one thread with unread messages for the staff (two messages).
    as_ada(system, f"/v1/orders/{chatty.order_id}/messages", {"body": "Hello?"})
    as_ada(system, f"/v1/orders/{chatty.order_id}/messages", {"body": "Anyone there?"})
    expect_admin_figures(admin, news + 1, messages + 1, disputes)
    # Ada writes, the staff reads, then Ada opens a dispute without a new message.
    as_ada(system, f"/v1/orders/{quiet.order_id}/messages", {"body": "Where is it?"})
    expect_admin_figures(admin, news + 2, messages + 2, disputes)
    api_post(system, "admin", f"/v1/orders/{quiet.order_id}/read", {})
    expect_admin_figures(admin, news + 1, messages + 1, disputes)
    as_ada(system, f"/v1/orders/{quiet.order_id}/dispute", {"reason": "It never arrived."})
    expect_admin_figures(admin, news + 2, messages + 1, disputes + 1)
    # The tab label of that order: no unread message, the dispute marker.
    expect(admin.locator("#messages-tab-badge")).to_be_hidden()
    expect(admin.locator("#messages-tab-dispute")).to_be_visible()
    expect(admin.locator("#tab-messages")).to_have_attribute(
        "aria-label", "Messages: 0 unread messages, an open dispute you have not seen"
    )
    expect(admin.locator("#details-panel")).to_contain_text("1 message")  # the details follow the thread too
    # The staff's own dispute raises nobody's count but Ada's; a staff reply raises hers too.
    api_post(system, "admin", f"/v1/orders/{own.order_id}/dispute", {"reason": "Address to confirm."})
    api_post(system, "admin", f"/v1/orders/{answered.order_id}/messages", {"body": "Your parcel has shipped."})
    expect_store_badge(ada, 2)
    expect_admin_figures(admin, news + 2, messages + 1, disputes + 1)
    admin.click("#bell")
    expect(admin.locator("#bell-menu")).to_be_visible()
    screenshot(admin, "admin-bell.png")  # the menu's figures above the tab's dispute marker
    admin.keyboard.press("Escape")

    # Each menu line opens the list filtered exactly as the figure counts.
    assert listed_total(admin, "#bell-messages") == messages + 1
    assert listed_total(admin, "#bell-disputes") == disputes + 1
    rows = {r.get_attribute("data-order-id") for r in admin.locator("#threads tbody tr").all()}
    assert quiet.order_id in rows and own.order_id not in rows

    # The tab label of the order with two unread messages.
    admin.goto(f"{system.web}/admin/orders/{chatty.order_id}")
    expect(admin.locator("#messages-tab-badge")).to_have_text("2")
    expect(admin.locator("#messages-tab-badge")).to_have_attribute("title", "Unread messages in this conversation: 2")
    expect(admin.locator("#messages-tab-dispute")).to_be_hidden()
    # The Orders list shows the same figure, labelled.
    admin.goto(f"{system.web}/admin/orders?messages=unread")
    count = admin.locator(f"tr[data-order-id='{chatty.order_id}'] .badge")
    expect(count).to_have_text("2")
    expect(count).to_have_attribute("title", "Unread messages in this conversation: 2")

    # One read: the staff opens the disputed thread; it has no message to read, yet the dispute is now seen.
    admin.goto(f"{system.web}/admin/orders/{quiet.order_id}#messages")
    expect(admin.locator("#dispute-note")).to_be_visible()
    expect_admin_figures(admin, news + 1, messages + 1, disputes)
    expect(admin.locator("#messages-tab-dispute")).to_be_hidden()
    expect(admin.locator("#tab-messages")).to_have_attribute("aria-label", "Messages: 0 unread messages")
    # Ada reads the staff's dispute on her order page: her badge drops by that thread only.
    ada.goto(f"{system.web}/store/orders/{own.order_id}")
    expect(ada.locator("#dispute-note")).to_be_visible()
    expect_store_badge(ada, 1)
    # The projection API (the polling fallback) and the notifier answer the same figures as the screens.
    shown = {"threads_with_news": news + 1, "threads_with_unread_messages": messages + 1, "unseen_disputes": disputes}
    for service in ("projections", "notifier"):

        def agrees(service: str = service) -> bool:
            headers = {"Authorization": f"Bearer {system.token('admin')}"}
            answer: dict[str, int] = httpx.get(
                f"{system.stack.url(service)}/v1/bell", headers=headers, timeout=10
            ).json()
            return answer == shown

        wait_for(agrees, 10, f"the {service} bell to show {shown}")
