"""B5 dispute timeline, conversation rows that say what is new, and a composer that says why a text cannot go."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from tests.e2e.stack_support import DemoOrder, System, api_post, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def orders_path(order: DemoOrder, action: str) -> str:
    return f"/v1/orders/{order.order_id}/{action}"


def timeline_ids(page: Page) -> list[str]:
    """The thread's entries in screen order: ``m<seq>`` for a message, the element id for a dispute entry."""
    entries = page.locator("#thread > li")
    return [
        f"m{e.get_attribute('data-seq')}" if e.get_attribute("data-seq") else e.get_attribute("id") or ""
        for e in entries.all()
    ]


def expect_dispute(entry: Locator, *texts: str) -> None:
    for text in texts:
        expect(entry).to_contain_text(text)


def test_every_dispute_stands_in_its_place_in_the_thread(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    today = datetime.now(ZoneInfo("Europe/Berlin")).strftime("%b %-d, %Y")
    api_post(system, "customer", orders_path(order, "messages"), {"body": "The box was open when it came."})
    customer = sign_in("customer-1")
    customer.goto(f"{system.web}/store/orders/{order.order_id}")
    expect(customer.locator("#thread .message")).to_have_count(1)

    # Open (customer, in the browser), close (admin, in the browser), open again (admin).
    customer.click("#open-dispute")
    customer.locator("#dispute-reason").fill("Items missing from the parcel.")
    customer.locator("#open-dispute-dialog").get_by_role("button", name="Open dispute").click()
    expect(customer.locator("#dispute-note")).to_contain_text(f"Dispute opened on {today}, by Jane Doe")

    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/orders/{order.order_id}#messages")
    expect(admin.locator("#dispute-note")).to_contain_text("Items missing from the parcel.")
    admin.fill("#reply-body", "We are looking into it.")
    admin.click("#reply-submit")
    expect(admin.locator("#thread .message")).to_have_count(2)
    admin.click("#close-dispute")
    confirm = admin.locator("#close-dispute-dialog")
    expect(confirm).to_contain_text("The customer will be notified.")
    confirm.get_by_role("button", name="Close dispute").click()
    expect(admin.locator("#dispute-note")).to_have_count(0)
    # The closed dispute leaves its trace: opened and closed, in their places.
    expect(admin.locator("#dispute-1-closed")).to_be_visible()
    api_post(system, "admin", orders_path(order, "dispute"), {"reason": "Chargeback received from the bank."})
    admin.reload()

    note = admin.locator("#dispute-note")
    expect(note).to_contain_text(f"Dispute opened on {today}, by Admin Admin")
    expect(note).to_contain_text("Chargeback received from the bank.")
    expect(admin.locator("#thread .timeline-dispute")).to_have_count(3)
    assert timeline_ids(admin) == ["m1", "dispute-1-opened", "m2", "dispute-1-closed", "dispute-2-opened"]
    date = re.compile(rf"{re.escape(datetime.now(ZoneInfo('Europe/Berlin')).strftime('%b %-d, %Y'))}, \d")
    first_opened, first_closed = admin.locator("#dispute-1-opened"), admin.locator("#dispute-1-closed")
    expect_dispute(first_opened, "Dispute opened", "by Jane Doe", "Customer", "Items missing from the parcel.")
    expect(first_opened.locator("time")).to_have_text(date)
    expect(first_opened.locator(".dispute-duration")).to_have_text(
        re.compile(r"^Closed after (less than a minute|1 minute)$")
    )
    expect_dispute(first_closed, "Dispute closed", "by Admin Admin", "Store staff", "Items missing from the parcel.")
    expect(first_closed.locator("time")).to_have_text(date)
    expect(first_closed.locator(".dispute-duration")).to_contain_text("It was open for")
    second = admin.locator("#dispute-2-opened")
    expect_dispute(second, "Dispute opened", "by Admin Admin", "Chargeback received from the bank.")
    expect(second.locator(".dispute-duration")).to_have_text(re.compile(r"^Open for (less than a minute|1 minute)$"))
    screenshot(admin, "admin-dispute-timeline.png")

    # The customer's page shows the same timeline; closing there tells the customer what happens next.
    customer.reload()
    expect(customer.locator("#thread .timeline-dispute")).to_have_count(3)
    assert timeline_ids(customer) == timeline_ids(admin)
    expect(customer.locator("#dispute-note")).to_contain_text("by Admin Admin")
    expect_dispute(customer.locator("#dispute-1-closed"), "Dispute closed", "by Admin Admin", "It was open for")
    screenshot(customer, "customer-dispute-timeline.png")
    customer.click("#close-dispute")
    confirm = customer.locator("#close-dispute-dialog")
    expect(confirm).to_contain_text(f"Close the dispute on order {order.order_number}? The store will be notified.")
    expect(confirm).not_to_contain_text("The customer will be notified")
    confirm.get_by_role("button", name="Close dispute").click()
    expect(customer.locator("#dispute-note")).to_have_count(0)
    expect(customer.locator("#dispute-2-closed")).to_contain_text("by Jane Doe")


def test_the_lists_show_conversations_and_what_is_new(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    silent, dispute_only, marked, store_dispute = (new_order() for _ in range(4))
    word = f"heron{dispute_only.order_id[-6:]}"
    api_post(system, "customer", orders_path(dispute_only, "dispute"), {"reason": f"Never delivered {word}"})
    api_post(system, "customer", orders_path(marked, "messages"), {"body": f"Can I pay by invoice {word}?"})
    api_post(system, "admin", orders_path(marked, "messages"), {"body": "Yes: the invoice comes with the parcel."})
    api_post(system, "admin", orders_path(store_dispute, "dispute"), {"reason": f"Payment reversed {word}"})

    admin = sign_in("admin-1")
    admin.goto(f"{system.web}/admin/messages?q={word}")
    rows = admin.locator("#threads tbody tr")
    expect(rows).to_have_count(3)  # the reasons are keywords too; the silent order is no conversation
    admin.locator(f"tr[data-order-id='{marked.order_id}'] .row-check").check()
    admin.click("#mark-unread")
    marked_row = admin.locator(f"tr[data-order-id='{marked.order_id}']")
    expect(marked_row.locator(".new-note")).to_have_text(f"New message for order {marked.order_number}")
    expect(marked_row.locator(".excerpt")).to_have_text(f"Jane Doe: Can I pay by invoice {word}?")
    expect(marked_row).not_to_contain_text("the invoice comes with the parcel")

    alone = admin.locator(f"tr[data-order-id='{dispute_only.order_id}']")
    expect(alone).to_have_class(re.compile(r"\bunread\b"))
    expect(alone.locator(".new-note")).to_have_text(f"New dispute on order {dispute_only.order_number}")
    expect(alone.locator(".dispute-line")).to_have_text(f"New Dispute opened by Jane Doe: Never delivered {word}")
    expect(alone).not_to_contain_text("No messages yet")
    own = admin.locator(f"tr[data-order-id='{store_dispute.order_id}']")
    expect(own.locator(".new-note")).to_have_count(0)
    expect(own.locator(".dispute-line")).to_have_text(f"Dispute opened by Admin Admin: Payment reversed {word}")
    screenshot(admin, "admin-messages-news.png")

    admin.goto(f"{system.web}/admin/messages?q={silent.order_number.lstrip('#')}")
    expect(admin.locator("#no-threads")).to_be_visible()
    expect(admin.locator(f"tr[data-order-id='{silent.order_id}']")).to_have_count(0)

    # My account → Messages: the same rules for the customer.
    customer = sign_in("customer-1")
    customer.goto(f"{system.web}/store/messages")
    expect(customer.locator(f".store-thread[data-order-id='{marked.order_id}']")).to_be_visible()
    expect(customer.locator(f".store-thread[data-order-id='{silent.order_id}']")).to_have_count(0)
    theirs = customer.locator(f".store-thread[data-order-id='{store_dispute.order_id}']")
    expect(theirs).to_have_class(re.compile(r"\bunread\b"))
    expect(theirs.locator(".dispute-line")).to_have_text(f"New Dispute opened by Admin Admin: Payment reversed {word}")
    mine = customer.locator(f".store-thread[data-order-id='{dispute_only.order_id}']")
    expect(mine).not_to_have_class(re.compile(r"\bunread\b"))
    expect(mine.locator(".dispute-line")).to_have_text(f"Dispute opened by Jane Doe: Never delivered {word}")
    answered = customer.locator(f".store-thread[data-order-id='{marked.order_id}']")
    expect(answered.locator(".new-chip")).to_have_text("1 new message")
    expect(answered.locator(".excerpt")).to_have_text("Admin Admin: Yes: the invoice comes with the parcel.")
    screenshot(customer, "customer-messages-news.png")


@pytest.mark.parametrize("persona", ["admin-1", "customer-1"])
def test_the_composer_says_why_a_text_cannot_be_sent(
    system: System, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page], persona: str
) -> None:
    order = new_order()
    page = sign_in(persona)
    path = f"/admin/orders/{order.order_id}#messages" if persona == "admin-1" else f"/store/orders/{order.order_id}"
    page.goto(f"{system.web}{path}")
    box, counter, problem = (
        page.locator("#reply-body"),
        page.locator("#reply-body-counter"),
        page.locator("#reply-body-problem"),
    )
    expect(page.locator("#no-messages")).to_be_visible()
    expect(counter).to_be_hidden()

    page.fill("#reply-body", "   \n  ")
    page.click("#reply-submit")
    expect(problem).to_have_text("Write a message first: it cannot be empty or only spaces.")
    expect(box).to_have_attribute("aria-invalid", "true")

    # Nothing is cut: 6,000 characters stay 6,000, the counter says so, and the text is not sent.
    page.fill("#reply-body", "x" * 6000)
    assert page.eval_on_selector("#reply-body", "e => e.value.length") == 6000
    expect(counter).to_have_text("6,000 / 5,000 characters: 1,000 too many")
    page.click("#reply-submit")
    expect(problem).to_have_text(
        "The message is 6,000 characters long; at most 5,000 are allowed. Shorten it by 1,000."
    )
    screenshot(page, f"composer-too-long-{persona.split('-')[0]}.png")
    page.fill("#reply-body", "y" * 4600)
    expect(counter).to_have_text("4,600 / 5,000 characters")
    expect(problem).to_have_count(0)
    page.fill("#reply-body", "short")
    expect(counter).to_be_hidden()

    # A text the API refuses (a control character) shows the API's reason: its problem+json detail.
    refused = "Ring \u0007 the bell"
    answer = httpx.post(
        f"{system.stack.url('messaging')}/v1/orders/{order.order_id}/messages",
        json={"body": refused},
        headers={"Authorization": f"Bearer {system.token('admin')}"},
        timeout=10,
    )
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    page.fill("#reply-body", refused)
    page.click("#reply-submit")
    expect(page.locator("#reply-status .alert-error")).to_have_text(answer.json()["detail"])
    expect(page.locator("#thread .message")).to_have_count(0)

    # The dispute reason too: only spaces are not dropped without a word.
    page.click("#open-dispute")
    page.locator("#dispute-reason").fill("    ")
    page.locator("#open-dispute-dialog").get_by_role("button", name="Open dispute").click()
    expect(page.locator("#dispute-reason-problem")).to_have_text(
        "Write a reason first: it cannot be empty or only spaces."
    )
    expect(page.locator("#open-dispute-dialog")).to_be_visible()
