"""E-mails end to end: events on the real broker -> notifier process -> real SMTP catcher."""

from __future__ import annotations

from collections import Counter

import httpx
from aiokafka import AIOKafkaConsumer
from tests.notifier.events import ADMIN, ThreadBuilder, all_kinds
from tests.notifier.harness import ADMIN_TOKEN, NotifierProcess, customer_token, mails_about, outbox_rows, produce
from tests.support.mail import MailCatcher
from tests.support.polling import wait_for as wait_until

from ordertalk_contracts.topics import DEAD_LETTERS
from ordertalk_runtime.kafka import KafkaSettings


async def test_each_event_kind_mails_the_right_people(
    notifier: NotifierProcess, module_catcher: MailCatcher, kafka_settings: KafkaSettings
) -> None:
    t = ThreadBuilder(order_number="#00101", customer_email="jane.doe@example.org")
    await produce(kafka_settings, all_kinds(t))
    wait_until(lambda: len(mails_about(module_catcher.messages(), t.order_id)) >= 4, 20, "4 e-mails")
    mails = mails_about(module_catcher.messages(), t.order_id)
    got = sorted((str(m["To"]), str(m["Subject"]).strip()) for m in mails)
    assert got == [
        ("Jane Doe <jane.doe@example.org>", "Dispute closed on order #00101 by Admin Admin"),
        ("Jane Doe <jane.doe@example.org>", "New message about your order #00101"),
        ("Store <store@example.com>", "Dispute opened on order #00101 by Jane Doe"),
        ("Store <store@example.com>", "New message for order #00101 from Jane Doe"),
    ]
    for mail in mails:
        assert mail["From"] == "Order messages <notify@shop.example>"
        assert mail["Message-ID"] and mail["Date"] and mail["Reply-To"]
        html = mail.get_body(("html",))
        assert html is not None and "#00101" in str(html.get_content())
        to_store = "store@" in str(mail["To"])
        link = f"http://web.example/admin/orders/{t.order_id}#messages" if to_store else f"/store/orders/{t.order_id}"
        assert link in str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


async def test_hostile_names_neither_inject_headers_nor_html(
    notifier: NotifierProcess, module_catcher: MailCatcher, kafka_settings: KafkaSettings
) -> None:
    t = ThreadBuilder(order_number="#9\r\nBcc: x@evil.example", customer_name="Eve\r\nBcc: y@evil.example <script>")
    await produce(kafka_settings, [t.started(), t.message(t.customer, "<b>hi</b>\r\nBcc: z@evil.example")])
    wait_until(lambda: len(mails_about(module_catcher.messages(), t.order_id)) >= 1, 20, "the e-mail")
    [mail] = mails_about(module_catcher.messages(), t.order_id)
    assert mail["Bcc"] is None
    assert mail["X-Envelope-To"] == "store@example.com"
    html = str(mail.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert "<script>" not in html and "<b>hi</b>" not in html and "&lt;b&gt;hi&lt;/b&gt;" in html


async def test_a_redelivered_event_sends_nothing_twice(
    notifier: NotifierProcess, module_catcher: MailCatcher, kafka_settings: KafkaSettings, mongo_url: str
) -> None:
    t = ThreadBuilder()
    started, message = t.started(), t.message(t.customer)
    await produce(kafka_settings, [started, message, message, started, message])
    later = t.message(ADMIN)  # same partition, after the redeliveries
    await produce(kafka_settings, [later])

    def all_sent() -> bool:
        rows = outbox_rows(mongo_url, notifier.mongo_db, order_id=t.order_id)
        return len(rows) >= 2 and all(r["status"] == "sent" for r in rows)

    wait_until(all_sent, 20, "both e-mails recorded as sent")
    mails = mails_about(module_catcher.messages(), t.order_id)
    assert sorted(str(m["To"]) for m in mails) == ["Jane Doe <jane@example.com>", "Store <store@example.com>"]
    assert len(outbox_rows(mongo_url, notifier.mongo_db, order_id=t.order_id)) == 2


async def test_a_poison_message_is_dead_lettered_and_the_consumer_carries_on(
    notifier: NotifierProcess, module_catcher: MailCatcher, kafka_settings: KafkaSettings
) -> None:
    t = ThreadBuilder()
    poison = b'{"event_type": "MessagePosted", "schema_version": 1, "order_id": "' + t.order_id.encode() + b'"}'
    consumer = AIOKafkaConsumer(DEAD_LETTERS, **kafka_settings.client_kwargs(), auto_offset_reset="earliest")
    await consumer.start()
    try:
        await produce(kafka_settings, [], raw=[(t.order_id.encode(), poison), (t.order_id.encode(), b"\xff")])
        await produce(kafka_settings, [t.started(), t.message(t.customer)])
        wait_until(lambda: len(mails_about(module_catcher.messages(), t.order_id)) == 1, 20, "the e-mail after poison")
        seen: list[bytes] = []
        for _ in range(100):
            batch = await consumer.getmany(timeout_ms=200)
            seen += [r.value for records in batch.values() for r in records if r.key == t.order_id.encode()]
            if len(seen) >= 2:
                break
        assert sorted(seen) == sorted([poison, b"\xff"])
    finally:
        await consumer.stop()


def test_bell_and_failed_endpoints_check_the_caller(notifier: NotifierProcess) -> None:
    assert httpx.get(f"{notifier.url}/v1/bell").status_code == 401
    assert httpx.get(f"{notifier.url}/v1/bell", headers={"Authorization": "Bearer nope"}).status_code == 401
    admin = httpx.get(f"{notifier.url}/v1/bell", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    figures = {"threads_with_news", "threads_with_unread_messages", "unseen_disputes"}
    assert admin.status_code == 200 and set(admin.json()) == figures
    customer = {"Authorization": f"Bearer {customer_token('nobody')}"}
    assert httpx.get(f"{notifier.url}/v1/bell", headers=customer).json() == dict.fromkeys(figures, 0)
    denied = httpx.get(f"{notifier.url}/v1/notifications/failed", headers=customer)
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    bad = httpx.get(
        f"{notifier.url}/v1/notifications/failed?limit=0", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert bad.status_code == 422
    assert httpx.get(f"{notifier.url}/healthz").status_code == 200
    assert Counter(httpx.get(f"{notifier.url}/readyz").json()["checks"].values()) == Counter({True: 2})
