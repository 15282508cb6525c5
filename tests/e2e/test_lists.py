"""Admin lists: bulk mark read/unread on the Messages section, the Orders list's Messages filter, A2 and A9."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.stack_support import DemoOrder, System, api_post, mail_text, screenshot
from tests.support.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def customer_writes(system: System, order: DemoOrder, text: str) -> None:
    api_post(system, "customer", f"/v1/orders/{order.order_id}/messages", {"body": text})


def unread_ids(admin: Page) -> set[str]:
    return {r.get_attribute("data-order-id") or "" for r in admin.locator("#threads tr.unread").all()}


def test_bulk_mark_read_and_unread(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    first, second = new_order(), new_order()
    word = f"bulk{first.order_id[-6:]}"
    customer_writes(system, first, f"First question {word}")
    customer_writes(system, second, f"Second question {word}")
    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/messages?q={word}")
    rows = admin.locator("#threads tbody tr")
    expect(rows).to_have_count(2)
    expect(admin.locator("#threads tr.unread")).to_have_count(2)

    admin.locator(f"tr[data-order-id='{first.order_id}'] .row-check").check()
    admin.click("#mark-read")
    expect(admin.locator("#threads tr.unread")).to_have_count(1)
    assert unread_ids(admin) == {second.order_id}

    admin.select_option("#bulk-scope", "filter")
    admin.click("#mark-read")
    expect(admin.locator("#threads tr.unread")).to_have_count(0)

    admin.select_option("#bulk-scope", "selected")
    admin.locator("#check-all").check()
    admin.click("#mark-unread")
    expect(admin.locator("#threads tr.unread")).to_have_count(2)
    expect(admin.locator(f"tr[data-order-id='{second.order_id}'] .new-note")).to_have_text(
        f"New message for order {second.order_number}"
    )
    admin.goto(f"{system.web}/admin/messages?q={word}&type=unread")
    expect(rows).to_have_count(2)


def test_orders_list_messages_filter_and_contact_customer(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    with_unread, with_read, without = new_order(), new_order(), new_order()
    customer_writes(system, with_unread, "Can I change the delivery address?")
    customer_writes(system, with_read, "Thank you!")
    api_post(system, "admin", f"/v1/orders/{with_read.order_id}/read", {})
    admin = sign_in("admin-1")

    def listed(messages: str) -> set[str]:
        admin.goto(f"{system.web}/admin/orders?messages={messages}")
        expect(admin.locator("#orders, #results .empty")).to_be_visible()
        return {r.get_attribute("data-order-id") or "" for r in admin.locator("#orders tbody tr").all()}

    ours = {with_unread.order_id, with_read.order_id, without.order_id}
    assert listed("unread") & ours == {with_unread.order_id}
    assert listed("any") & ours == {with_unread.order_id, with_read.order_id}
    assert listed("all") & ours == ours
    expect(admin.locator("#filter-messages")).to_have_value("all")
    screenshot(admin, "admin-orders.png")

    # A2: the Messages tab shows the number of unread messages until the admin opens it.
    admin.locator(f"tr[data-order-id='{with_unread.order_id}'] .order-link").click()
    expect(admin.locator("#details-panel")).to_be_visible()
    expect(admin.locator("#messages-tab-badge")).to_have_text("1")
    screenshot(admin, "admin-order-details.png")
    admin.click("#tab-messages")
    expect(admin.locator("#thread .message")).to_have_count(1)
    expect(admin.locator("#messages-tab-badge")).to_be_hidden()

    # A9: an order with no messages offers to contact the customer in the same box.
    admin.goto(f"{system.web}/admin/orders/{without.order_id}#messages")
    expect(admin.locator("#no-messages")).to_contain_text("contact the customer, Jane Doe")
    screenshot(admin, "admin-contact-customer.png")
    admin.fill("#reply-body", f"Hello Jane, a question about order {without.order_number}.")
    admin.click("#reply-submit")
    expect(admin.locator("#thread .message")).to_have_count(1)
    expect(admin.locator("#thread .message .role-chip")).to_have_text("Store staff")
    wait_for(
        lambda: any(without.order_number in mail_text(m) for m in system.mails_to("jane@example.com")),
        20,
        "the admin's first message e-mailed to the customer",
    )
