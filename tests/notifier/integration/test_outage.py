"""SMTP down, then up: every e-mail is delivered, exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.notifier.events import ADMIN, ThreadBuilder
from tests.notifier.harness import NotifierProcess, mails_by_order, outbox_rows, produce
from tests.support.mail import MailCatcher
from tests.support.polling import wait_for as wait_until

from ordertalk_contracts import ThreadEvent
from ordertalk_devstack.processes import port_open
from ordertalk_devstack.servers import start_mailcatcher
from ordertalk_runtime.kafka import KafkaSettings

THREADS = 10


async def test_mail_held_during_an_smtp_outage_is_delivered_once_when_it_returns(
    kafka_settings: KafkaSettings, mongo_url: str, mail_catcher: MailCatcher, server_logs: Path
) -> None:
    notifier = NotifierProcess(kafka_settings, mongo_url, mail_catcher.port, server_logs).start()
    try:
        mail_catcher.process.stop()
        wait_until(lambda: not port_open(mail_catcher.port), 10, "the SMTP catcher to stop")
        threads = [ThreadBuilder() for _ in range(THREADS)]
        events: list[ThreadEvent] = []
        for t in threads:
            events += [t.started(), t.message(t.customer), t.message(ADMIN)]
        await produce(kafka_settings, events)

        mine = {"order_id": {"$in": [t.order_id for t in threads]}}

        def retried() -> bool:
            rows = outbox_rows(mongo_url, notifier.mongo_db, **mine)
            return len(rows) == 2 * THREADS and all(r.get("last_error") and r["status"] == "pending" for r in rows)

        wait_until(retried, 30, "every e-mail recorded and tried while SMTP is down", interval=0.2)
        assert mail_catcher.messages() == []

        mail_catcher.process = start_mailcatcher(mail_catcher.port, mail_catcher.maildir, server_logs)

        def all_sent() -> bool:
            rows = outbox_rows(mongo_url, notifier.mongo_db, **mine)
            return all(r["status"] == "sent" for r in rows)

        wait_until(all_sent, 30, "every e-mail sent after SMTP came back", interval=0.2)
        by_order = mails_by_order(mail_catcher.messages(), [t.order_id for t in threads])
        mails = [m for found in by_order.values() for m in found]
        assert len(mails) == 2 * THREADS
        assert all(len(found) == 2 for found in by_order.values())
        copies = Counter(str(m["Message-ID"]) for m in mails)
        assert set(copies.values()) == {1}
    finally:
        notifier.stop()
