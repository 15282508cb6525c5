"""Use case: rebuild the notifier's thread states (and so its bell counts) from the event store's feed.

The states are folded again with the shared gap-handling fold from the messaging event feed (the store vouches for
every event in it), replace the stored ones whatever their version (a state once folded wrong is repaired), and
threads the store does not have are removed. E-mails: by default the rebuild queues **none** — every e-mail of the
past was either queued when its event was handled or belongs to an event long gone by; with ``send_missed`` it
queues the e-mails of every event whose (event, recipient) key is not in the outbox yet (the outbox keeps each key
once, so an e-mail already queued or sent is never queued again). Run it with the notifier stopped, or restart the
notifier afterwards: a running notifier keeps its cached states and bell tally for a while.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from ordertalk_threadstate import ThreadState, fold_states

from ordertalk_contracts import ThreadEvent
from ordertalk_notifier.adapters.mongo import MongoOutbox, MongoThreadStore, connect, ensure_indexes
from ordertalk_notifier.handling import outbox_entry
from ordertalk_notifier.healing import HealingSettings, event_feed
from ordertalk_notifier.policy import Links, notifications_for
from ordertalk_notifier.ports import Outbox, OutboxEntry, ThreadStore
from ordertalk_notifier.rendering import Sender
from ordertalk_notifier.settings import Settings
from ordertalk_runtime.auth import AuthSettings
from ordertalk_runtime.event_feed import EventFeed

PAGE = 1000


@dataclass
class StateFold:
    """The pure part: thread states folded from events in store order (what waits beyond a gap is kept apart)."""

    states: dict[str, ThreadState] = field(default_factory=dict)
    waiting: dict[str, list[ThreadEvent]] = field(default_factory=dict)
    keep_applied: bool = False
    applied: list[tuple[ThreadEvent, ThreadState]] = field(default_factory=list)  # each event with its state after

    def add(self, events: list[ThreadEvent]) -> None:
        """Fold a page of events into the states."""
        by_thread: dict[str, list[ThreadEvent]] = {}
        for event in events:
            by_thread.setdefault(event.order_id, []).append(event)
        for order_id, new in by_thread.items():
            folded = fold_states(self.states.get(order_id), [*new, *self.waiting.pop(order_id, [])])
            if folded.projection is not None:
                self.states[order_id] = folded.projection
            if self.keep_applied:
                self.applied += list(zip(folded.applied, folded.steps, strict=True))
            if folded.waiting:
                self.waiting[order_id] = folded.waiting


@dataclass
class RebuildReport:
    """What a rebuild did."""

    events: int = 0
    threads: int = 0
    removed: int = 0
    waiting_threads: int = 0
    emails_queued: int = 0
    emails_known: int = 0  # e-mails of the events whose keys the outbox had already (not queued again)


@dataclass
class NotifierRebuild:
    """Reads the whole feed, folds, and stores the states; optionally queues the e-mails never queued."""

    feed: EventFeed
    threads: ThreadStore
    outbox: Outbox
    links: Links
    sender: Sender
    send_missed: bool = False

    async def run(self) -> RebuildReport:
        """Rebuild every thread state; answers the report."""
        fold, after, report = StateFold(keep_applied=self.send_missed), 0, RebuildReport()
        while True:
            page = await self.feed.read(after, PAGE)
            events = [e for e in page.events if isinstance(e, ThreadEvent)]
            fold.add(events)
            report.events += len(events)
            if not page.events or page.last_position <= after:
                break
            after = page.last_position
        states = list(fold.states.values())
        report.threads, report.waiting_threads = len(states), len(fold.waiting)
        if self.send_missed:
            now = datetime.now(UTC)
            entries: list[OutboxEntry] = [
                outbox_entry(note, self.sender, now)
                for event, state in fold.applied
                for note in notifications_for(event, state, self.links)
            ]
            for i in range(0, len(entries), PAGE):
                report.emails_queued += await self.outbox.add(entries[i : i + PAGE])
            report.emails_known = len(entries) - report.emails_queued
        report.removed = await self.threads.replace_all(states)
        await self.threads.unpark([(s.order_id, s.version) for s in states])
        return report


async def _main(send_missed: bool) -> int:
    settings, auth = Settings(), AuthSettings()
    client = connect(settings.mongo_url)
    db = client[settings.mongo_db]
    async with httpx.AsyncClient(timeout=30.0) as http:
        feed = event_feed(HealingSettings(), auth, http)
        if feed is None:
            print("MESSAGING_URL is not set: the rebuild reads the messaging event feed", file=sys.stderr)
            return 2
        try:
            await ensure_indexes(db)
            rebuild = NotifierRebuild(
                feed,
                MongoThreadStore(db),
                MongoOutbox(db),
                Links(settings.store_notification_email, settings.admin_base_url, settings.storefront_base_url),
                Sender(settings.mail_from, settings.mail_from_name),
                send_missed,
            )
            report = await rebuild.run()
        finally:
            await client.close()
    print(
        f"rebuilt {report.threads} thread states from {report.events} events; removed {report.removed} threads the"
        f" store does not have; {report.waiting_threads} threads wait for missing events;"
        f" e-mails queued {report.emails_queued}, already queued before {report.emails_known}"
        + ("" if send_missed else " (none queued: pass --send-missed to queue those never queued)")
    )
    return 0


def main() -> None:
    """``python -m ordertalk_notifier.rebuild [--send-missed]`` (``ordertalk-ops rebuild-notifier``)."""
    parser = argparse.ArgumentParser(prog="ordertalk-ops rebuild-notifier", description=__doc__)
    parser.add_argument(
        "--send-missed", action="store_true", help="queue the e-mails of events whose e-mails were never queued"
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(_main(args.send_missed)))


if __name__ == "__main__":
    main()
