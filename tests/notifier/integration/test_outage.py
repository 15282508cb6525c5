"""SMTP down, then up on the same port: the outage is two warnings and a metric, and the backlog goes at once.

The senders probe the server during an outage rather than waiting out each row's backoff: with a backoff of 30 s
and more, every e-mail held during the outage arrives within seconds of the server answering again, exactly once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.notifier.events import ADMIN, ThreadBuilder
from tests.notifier.harness import NotifierProcess, mails_by_order, outbox_rows, produce
from tests.support.mail import MailCatcher
from tests.support.polling import wait_for as wait_until

from ordertalk_contracts import ThreadEvent
from ordertalk_devstack.processes import port_open
from ordertalk_devstack.servers import start_mailcatcher
from ordertalk_runtime.kafka import KafkaSettings

THREADS = 10
DRAIN_SECONDS = 10.0
SLOW_BACKOFF = {
    "NOTIFIER_RETRY_INITIAL_SECONDS": "30",  # a row's own backoff: far longer than the drain may take
    "NOTIFIER_RETRY_MAX_SECONDS": "60",
    "NOTIFIER_PROBE_SECONDS": "0.5",
}


def smtp_metrics(url: str) -> dict[str, float]:
    """The notifier's ``ordertalk_smtp_*`` samples from /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("ordertalk_smtp_")
    }


def log_lines(path: Path) -> list[dict[str, object]]:
    """The JSON log lines of a process."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


async def test_an_smtp_outage_is_two_warnings_and_the_backlog_drains_within_seconds_of_the_server_answering(
    kafka_settings: KafkaSettings, mongo_url: str, mail_catcher: MailCatcher, server_logs: Path
) -> None:
    notifier = NotifierProcess(kafka_settings, mongo_url, mail_catcher.port, server_logs, extra_env=SLOW_BACKOFF)
    notifier.start()
    try:
        # The topic is the suite's: first the earlier tests' events are consumed and their e-mails sent, so that
        # the drain measured below is this test's backlog, not theirs (on a slow database that takes a while).
        def caught_up() -> bool:
            text = httpx.get(f"{notifier.url}/metrics", timeout=5).text
            lags = [
                s.value
                for f in text_string_to_metric_families(text)
                for s in f.samples
                if s.name == "ordertalk_consumer_lag"
            ]
            return bool(lags) and not any(lags) and not outbox_rows(mongo_url, notifier.mongo_db, status="pending")

        wait_until(caught_up, 180, "the notifier to catch up with the shared topic", interval=0.2)
        mail_catcher.process.stop()
        wait_until(lambda: not port_open(mail_catcher.port), 10, "the SMTP catcher to stop")
        threads = [ThreadBuilder() for _ in range(THREADS)]
        events: list[ThreadEvent] = []
        for t in threads:
            events += [t.started(), t.message(t.customer), t.message(ADMIN)]
        await produce(kafka_settings, events)

        mine = {"order_id": {"$in": [t.order_id for t in threads]}}

        def held() -> bool:
            rows = outbox_rows(mongo_url, notifier.mongo_db, **mine)
            recorded = len(rows) == 2 * THREADS and all(r["status"] == "pending" for r in rows)
            # The outage may be found by an e-mail of the shared topic's backlog rather than one of these: once it
            # is, these are held without being tried, so the sign is the notifier's own gauge, not their rows.
            return recorded and smtp_metrics(notifier.url).get("ordertalk_smtp_up") == 0

        wait_until(held, 60, "every e-mail recorded, and the outage found, while SMTP is down", interval=0.2)
        assert not any(mails_by_order(mail_catcher.messages(), [t.order_id for t in threads]).values())
        during = smtp_metrics(notifier.url)
        assert during["ordertalk_smtp_up"] == 0 and during["ordertalk_smtp_outages_total"] == 1

        mail_catcher.process = start_mailcatcher(mail_catcher.port, mail_catcher.maildir, server_logs)
        back = time.monotonic()

        def all_sent() -> bool:
            rows = outbox_rows(mongo_url, notifier.mongo_db, **mine)
            return all(r["status"] == "sent" for r in rows)

        wait_until(all_sent, 60, "every e-mail sent after SMTP came back", interval=0.1)
        drained = time.monotonic() - back
        assert drained < DRAIN_SECONDS, f"the backlog took {drained:.1f} s once the server answered"
        after = smtp_metrics(notifier.url)
        assert after["ordertalk_smtp_up"] == 1 and after["ordertalk_smtp_outages_total"] == 1
        assert after["ordertalk_smtp_outage_seconds_total"] > 0

        by_order = mails_by_order(mail_catcher.messages(), [t.order_id for t in threads])
        mails = [m for found in by_order.values() for m in found]
        assert len(mails) == 2 * THREADS
        assert all(len(found) == 2 for found in by_order.values())
        copies = Counter(str(m["Message-ID"]) for m in mails)
        assert set(copies.values()) == {1}
    finally:
        notifier.stop()
    assert notifier.process is not None
    lines = log_lines(notifier.process.log_path)
    # Other tests' poison messages on the shared topic are dead-lettered with warnings of their own: only the
    # mail server's watch counts here.
    outage = "ordertalk_notifier.outage"
    warnings = [str(line["msg"]) for line in lines if line["level"] == "warning" and line["logger"] == outage]
    assert len(warnings) == 2, warnings
    assert "mail server unavailable" in warnings[0] and "answers again" in warnings[1]
    assert not [line for line in lines if str(line["logger"]).startswith("ordertalk_notifier.delivery")]
