"""Every link of every e-mail lands on the order's thread, signed in: directly in a signed-in browser, through
sign-in in a signed-out one; the sign-in page returns to same-origin paths only."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests.e2e.stack_support import VIEWPORT, DemoOrder, System, api_post
from tests.support.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

STORE_EMAIL = "store@example.com"
THREE_LINES = "Hello, the parcel came today.\nThe lid is cracked.\nCan you send a new one?"
REPLY = "Sorry about that, a new one ships tomorrow."
URL = re.compile(r"https?://[^\s<>\"']+")
# (who writes, what): three kinds of e-mail, each once to the store and once to the customer.
STORY: list[tuple[str, str, dict[str, object]]] = [
    ("customer", "/messages", {"body": THREE_LINES}),
    ("admin", "/messages", {"body": REPLY}),
    ("customer", "/dispute", {"reason": "Cracked lid."}),
    ("admin", "/dispute/close", {}),
    ("admin", "/dispute", {"reason": "We need a photo of the lid."}),
    ("customer", "/dispute/close", {}),
]
KINDS = ("New message", "Dispute opened", "Dispute closed")


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def links_of(mail: EmailMessage) -> list[str]:
    """Every link of both parts: URLs of the text/plain part, hrefs of the HTML part."""
    text, markup = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and markup is not None
    anchors = _Anchors()
    anchors.feed(str(markup.get_content()))
    found = URL.findall(str(text.get_content())) + anchors.hrefs
    assert len(found) >= 2, f"no link in both parts of {mail['Subject']}"
    return found


def mails_about(system: System, address: str, order: DemoOrder) -> list[EmailMessage]:
    return [m for m in system.mails_to(address) if order.order_number in str(m["Subject"])]


def kinds(mails: list[EmailMessage]) -> set[str]:
    return {kind for m in mails for kind in KINDS if kind in str(m["Subject"])}


def land_on_thread(page: Page, system: System, order: DemoOrder, audience: str) -> None:
    """The page shows the order's thread, its messages visible, to the signed-in recipient."""
    section = "admin" if audience == "store" else "store"
    page.wait_for_url(
        re.compile(rf"^{re.escape(system.web)}/{section}/orders/{re.escape(order.order_id)}(#messages)?$")
    )
    if audience == "store":
        assert urlsplit(page.url).fragment == "messages"
        expect(page.locator("#tab-messages")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#user-name")).to_have_text("Admin Admin")
    else:
        expect(page.locator("#user-name")).to_have_text(order.customer.name)
    messages = page.locator("#thread .message")
    expect(messages).to_have_count(2)
    expect(messages.nth(0).locator(".message-body")).to_have_text(THREE_LINES)
    expect(messages.nth(1).locator(".message-body")).to_have_text(REPLY)


def sign_in_paths(page: Page) -> list[str]:
    """Records every sign-in page the tab passes through."""
    passed: list[str] = []
    page.on("framenavigated", lambda frame: passed.append(frame.url) if urlsplit(frame.url).path == "/" else None)
    return passed


def play(system: System, order: DemoOrder, steps: list[tuple[str, str, dict[str, object]]]) -> None:
    """Write the steps through the messaging API, then wait until the read side has applied them (at most 2 s)."""
    position = 0
    for role, path, body in steps:
        position = int(str(api_post(system, role, f"/v1/orders/{order.order_id}{path}", body)["position"]))
    httpx.get(
        f"{system.stack.url('projections')}/v1/threads/{order.order_id}",
        params={"after": position},
        headers={"Authorization": f"Bearer {system.token('admin')}"},
        timeout=10,
    ).raise_for_status()


def new_browser(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="Europe/Berlin")


def test_every_email_link_lands_on_the_thread_signed_in(
    system: System, browser: Browser, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    play(system, order, STORY)
    addresses = {"store": STORE_EMAIL, "customer": order.customer.email}
    for address in addresses.values():

        def all_kinds(address: str = address) -> bool:
            return kinds(mails_about(system, address, order)) == set(KINDS)

        wait_for(all_kinds, 30, f"the 3 kinds of e-mail to {address}")
    personas = {"store": "admin-1", "customer": order.customer.id}
    signed_in = {audience: sign_in(subject).context for audience, subject in personas.items()}

    followed: dict[str, int] = {"signed in": 0, "signed out": 0}
    for audience, address in addresses.items():
        mails = mails_about(system, address, order)
        assert len(mails) == 3, [str(m["Subject"]) for m in mails]
        for number, mail in enumerate(mails):
            if "New message" in str(mail["Subject"]) and audience == "store":  # the three lines stay three lines
                text = mail.get_body(("plain",))
                assert text is not None
                lines = str(text.get_content()).replace("\r\n", "\n")
                assert "\n".join(f"    {line}" for line in THREE_LINES.split("\n")) in lines
            # Every link once, the browser signed in or out in turn, so each part of each kind meets both.
            for index, link in enumerate(links_of(mail)):
                assert link.startswith(f"{system.web}/"), link
                if (number + index) % 2 == 0:
                    follow_signed_in(signed_in[audience], link, system, order, audience)
                    followed["signed in"] += 1
                else:
                    follow_signed_out(browser, link, personas[audience], system, order, audience)
                    followed["signed out"] += 1
    assert followed == {"signed in": 6, "signed out": 6}  # 3 e-mails to each side, a link in each part


def follow_signed_in(context: BrowserContext, link: str, system: System, order: DemoOrder, audience: str) -> None:
    """The link opens in a new tab of a signed-in browser (as from a mail client) and lands without signing in."""
    tab = context.new_page()
    passed = sign_in_paths(tab)
    try:
        tab.goto(link)
        land_on_thread(tab, system, order, audience)
    finally:
        assert passed == [], f"{link} went through sign-in: {passed}"
        tab.close()


def follow_signed_out(
    browser: Browser, link: str, subject: str, system: System, order: DemoOrder, audience: str
) -> None:
    """A signed-out browser goes through the sign-in page, then back to the link's target."""
    context = new_browser(browser)
    try:
        page = context.new_page()
        page.goto(link)
        page.wait_for_url(re.compile(rf"^{re.escape(system.web)}/\?next="))
        page.locator(f"button.persona[data-subject='{subject}']").click()
        land_on_thread(page, system, order, audience)
    finally:
        context.close()


def test_the_link_of_mails_sent_before_still_opens_the_thread(
    system: System, browser: Browser, new_order: Callable[..., DemoOrder], sign_in: Callable[[str], Page]
) -> None:
    order = new_order()
    play(system, order, STORY[:2])
    old_link = f"{system.web}/admin/orders/{order.order_id}/messages"
    follow_signed_in(sign_in("admin-1").context, old_link, system, order, "store")
    follow_signed_out(browser, old_link, "admin-1", system, order, "store")


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/admin/orders/x",
        "//evil.example/admin/orders/x",
        "/\\evil.example/admin/orders/x",
        "/admin/../store/orders/x",
        "/store/orders/x",
    ],
)
def test_sign_in_returns_to_same_origin_admin_paths_only(browser: Browser, system: System, next_path: str) -> None:
    context = new_browser(browser)
    try:
        page = context.new_page()
        page.goto(f"{system.web}/?{httpx.QueryParams({'next': next_path})}")
        page.locator("button.persona[data-subject='admin-1']").click()
        page.wait_for_url(f"{system.web}/admin/messages")
        expect(page.locator("#user-name")).to_have_text("Admin Admin")
    finally:
        context.close()


def test_a_missing_page_is_an_html_page_in_the_browser(browser: Browser, system: System) -> None:
    context = new_browser(browser)
    try:
        page = context.new_page()
        for path, home in (("/admin/orders/x/nothing", "/admin/messages"), ("/store/nothing", "/store/messages")):
            response = page.goto(f"{system.web}{path}")
            assert response is not None and response.status == 404
            expect(page.locator("h1")).to_have_text("Page not found")
            page.get_by_role("link", name=re.compile("Go to")).click()
            page.wait_for_url(f"**/?next={home.replace('/', '%2F')}")
    finally:
        context.close()
