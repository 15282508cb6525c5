"""SIGKILL the notifier while it works through a batch, restart it: nothing lost, duplicates only in the window.

The window is bounded by design: each SMTP connection hands at most ``NOTIFIER_MAX_UNMARKED`` e-mails to the server
before their marks have landed, so a crash resends at most that many per connection — whatever the database's
latency (the second test puts a proxy that holds back every MongoDB reply in front of the database).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.notifier.events import ThreadBuilder
from tests.notifier.harness import NotifierProcess, mails_by_order, outbox_rows, produce
from tests.notifier.slow_mongo import DelayingProxy
from tests.support.mail import MailCatcher
from tests.support.polling import wait_for as wait_until

from ordertalk_contracts import ThreadEvent
from ordertalk_devstack.processes import free_port
from ordertalk_runtime.kafka import KafkaSettings

THREADS = 300
CONNECTIONS = 2


async def kill_and_restart(
    kafka: KafkaSettings, service_mongo: str, mongo_url: str, catcher: MailCatcher, logs: Path, max_unmarked: int
) -> Counter[str]:
    """Run a notifier on ``service_mongo`` until some e-mails went out, SIGKILL it, run a second one until every
    e-mail is sent; answer the copies the catcher got per Message-ID (every e-mail must have arrived)."""
    env = {
        "SMTP_CONNECTIONS": str(CONNECTIONS),
        "NOTIFIER_MAX_UNMARKED": str(max_unmarked),
        "NOTIFIER_LEASE_SECONDS": "10",  # a claimed batch goes out within half of it, also on a slow database
    }
    first = NotifierProcess(kafka, service_mongo, catcher.port, logs, extra_env=env).start()
    threads = [ThreadBuilder() for _ in range(THREADS)]
    events: list[ThreadEvent] = []
    for t in threads:
        events += [t.started(), t.message(t.customer)]
    try:
        await produce(kafka, events)
        wait_until(lambda: len(catcher.messages()) >= 20, 60, "the first e-mails")
        first.kill()
    finally:
        first.kill()
    delivered_before_restart = len(catcher.messages())
    assert delivered_before_restart < THREADS, "the kill came too late to interrupt anything"

    second = NotifierProcess(kafka, service_mongo, catcher.port, logs, first.mongo_db, first.group, env).start()
    try:
        mine = {"order_id": {"$in": [t.order_id for t in threads]}}

        def all_sent() -> bool:
            rows = outbox_rows(mongo_url, second.mongo_db, **mine)
            return len(rows) == THREADS and all(r["status"] == "sent" for r in rows)

        wait_until(all_sent, 120, "every e-mail recorded and sent after the restart", interval=0.2)
    finally:
        second.stop()
    by_order = mails_by_order(catcher.messages(), [t.order_id for t in threads])
    mails = [m for found in by_order.values() for m in found]
    mixed = {o: {(m["Message-ID"], m["Subject"]) for m in found} for o, found in by_order.items()}
    assert all(len(ids) == 1 for ids in mixed.values()), {o: ids for o, ids in mixed.items() if len(ids) != 1}
    copies = Counter(str(m["Message-ID"]) for m in mails)
    assert len(copies) == THREADS
    return copies


async def test_a_killed_notifier_loses_nothing_after_restart(
    kafka_settings: KafkaSettings, mongo_url: str, mail_catcher: MailCatcher, server_logs: Path
) -> None:
    copies = await kill_and_restart(kafka_settings, mongo_url, mongo_url, mail_catcher, server_logs, max_unmarked=1)
    # The window: e-mails the server accepted but that were not yet marked sent when the process died (at most
    # NOTIFIER_MAX_UNMARKED = 1 per SMTP connection) are sent again, with the same Message-ID.
    assert sum(n - 1 for n in copies.values()) <= CONNECTIONS


async def test_a_slow_database_does_not_widen_the_duplicate_window(
    kafka_settings: KafkaSettings, mongo_url: str, mail_catcher: MailCatcher, server_logs: Path
) -> None:
    env = {"SMTP_CONNECTIONS": str(CONNECTIONS), "NOTIFIER_MAX_UNMARKED": "2", "NOTIFIER_LEASE_SECONDS": "10"}
    threads = [ThreadBuilder() for _ in range(THREADS)]
    events: list[ThreadEvent] = []
    for t in threads:
        events += [t.started(), t.message(t.customer)]
    mine = {"order_id": {"$in": [t.order_id for t in threads]}}

    # 1. A notifier whose mail server does not answer records every e-mail, and dies: a backlog in the outbox.
    recorder = NotifierProcess(kafka_settings, mongo_url, free_port(), server_logs, extra_env=env).start()
    try:
        await produce(kafka_settings, events)
        wait_until(lambda: len(outbox_rows(mongo_url, recorder.mongo_db, **mine)) == THREADS, 60, "the backlog")
    finally:
        recorder.kill()

    # 2. A notifier on a slow database drains it in full claims, and is SIGKILLed midway.
    def next_notifier(url: str, until: Callable[[], bool] | None = None) -> NotifierProcess:
        process = NotifierProcess(kafka_settings, url, mail_catcher.port, server_logs, recorder.mongo_db)
        process.group, process.extra_env = recorder.group, env
        return process.start(until)

    # Every request and every reply 250 ms late: one mark write takes as long as sending a hundred e-mails, which
    # the senders must not do meanwhile beyond NOTIFIER_MAX_UNMARKED.
    with DelayingProxy(mongo_url, delay=0.25) as slow:
        draining = next_notifier(slow.url, until=lambda: len(mail_catcher.messages()) >= 10)  # the drain under way
        draining.kill()
    assert len(mail_catcher.messages()) < THREADS, "the kill came too late to interrupt anything"

    # 3. Another one sends the rest.
    last = next_notifier(mongo_url)
    try:

        def all_sent() -> bool:
            rows = outbox_rows(mongo_url, last.mongo_db, **mine)
            return len(rows) == THREADS and all(r["status"] == "sent" for r in rows)

        wait_until(all_sent, 120, "every e-mail sent after the restart", interval=0.2)
    finally:
        last.stop()
    by_order = mails_by_order(mail_catcher.messages(), [t.order_id for t in threads])
    copies = Counter(str(m["Message-ID"]) for found in by_order.values() for m in found)
    assert len(copies) == THREADS
    assert sum(n - 1 for n in copies.values()) <= 2 * CONNECTIONS  # NOTIFIER_MAX_UNMARKED per SMTP connection
