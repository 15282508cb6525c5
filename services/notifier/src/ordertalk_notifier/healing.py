"""The notifier's gap healing and trust: the shared healing pass and voucher over its thread store and handler."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.asynchronous.database import AsyncDatabase

from ordertalk_contracts import ThreadEvent
from ordertalk_notifier.handling import EventHandler
from ordertalk_notifier.ports import ThreadStore
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.event_feed import EventFeed, HttpEventFeed, RenewingToken
from ordertalk_runtime.gap_healing import HealingPass, Waiting, run_every
from ordertalk_runtime.held_events import Doc, MongoHeldEvents
from ordertalk_runtime.vouching import FeedProbe, HeldEvents, Voucher

CONSUMER = "notifier"
HELD = "notifier_unvouched"
EVERYTHING = 2**62  # a version above any thread's: unpark all of a thread's events
FEED_PRINCIPAL = Principal(role="admin", subject="ordertalk-notifier", display_name="Notifier service")


class HealingSettings(BaseSettings):
    """Where the messaging event feed is (``MESSAGING_URL``) and how often gaps are healed from it."""

    model_config = SettingsConfigDict(extra="ignore")

    messaging_url: str | None = Field(default=None, description="Base URL of the messaging service's event feed.")
    notifier_heal_seconds: float = Field(default=2.0, gt=0, description="How often parked threads are healed.")


def event_feed(settings: HealingSettings, auth: AuthSettings, http: httpx.AsyncClient) -> EventFeed | None:
    """The messaging event feed (an admin token of the notifier's own), when MESSAGING_URL is configured."""
    if not settings.messaging_url:
        return None
    return HttpEventFeed(http, settings.messaging_url, RenewingToken(TokenCodec(auth), FEED_PRINCIPAL))


def held_events(db: AsyncDatabase[Doc]) -> MongoHeldEvents:
    """The notifier's held-back (unvouched) events."""
    return MongoHeldEvents(db[HELD])


def voucher(feed: EventFeed | None, held: HeldEvents) -> Voucher | None:
    """A voucher over the feed (None without a feed: every event is trusted)."""
    return None if feed is None else Voucher(FeedProbe(feed), held, CONSUMER)


class NotifierTarget:
    """HealingTarget of the notifier: its parked threads, applied through the event handler (outbox keys dedupe)."""

    def __init__(self, threads: ThreadStore, handler: EventHandler, held: HeldEvents) -> None:
        self.threads, self.handler, self.held = threads, handler, held

    async def waiting_threads(self) -> Mapping[str, Waiting]:
        """Every thread with parked events."""
        parked = dict(await self.threads.parked_threads())
        if not parked:
            return {}
        known = await self.threads.get_many(list(parked))
        return {
            oid: Waiting(known[oid].position if oid in known else 0, position, started=oid in known)
            for oid, position in parked.items()
        }

    async def apply_healed(self, events: list[ThreadEvent]) -> int:
        """Handle the found events like a redelivery: only what was not applied yet changes anything."""
        prepared = await self.handler.prepare(events)
        await self.handler.persist(prepared)
        return prepared.applied

    async def set_aside(self, order_ids: list[str]) -> list[ThreadEvent]:
        """Move the parked events of threads the store never started to the refuted held events."""
        events = await self.threads.load_parked(order_ids)
        await self.held.hold(events)
        await self.held.refute([str(e.event_id) for e in events])
        await self.threads.unpark([(oid, EVERYTHING) for oid in order_ids])
        self.handler.forget_parked(order_ids)
        return events


def healing_pass(handler: EventHandler, feed: EventFeed, held: HeldEvents) -> HealingPass:
    """The healing pass of the notifier (the handler's voucher re-checks the held events)."""
    return HealingPass(NotifierTarget(handler.threads, handler, held), feed, handler.voucher, CONSUMER)


async def run_healing(stop: asyncio.Event, every: float, healing: HealingPass) -> None:
    """Heal every ``every`` seconds until ``stop`` is set."""
    await run_every(stop, every, healing.heal_once)


class Healing:
    """The notifier's healing and trust, wired from the environment: attach to the handler, start, close."""

    def __init__(self, handler: EventHandler, db: AsyncDatabase[Doc], auth: AuthSettings) -> None:
        self.settings = HealingSettings()
        self.http = httpx.AsyncClient(timeout=10.0)
        self.feed = event_feed(self.settings, auth, self.http)
        self.held = held_events(db)
        self.stop = asyncio.Event()
        handler.voucher = voucher(self.feed, self.held)
        self.healing = None if self.feed is None else healing_pass(handler, self.feed, self.held)

    @classmethod
    def attach(cls, handler: EventHandler, db: AsyncDatabase[Doc], auth: AuthSettings) -> Healing:
        """Give ``handler`` its voucher (when MESSAGING_URL is set) and prepare the healing pass."""
        return cls(handler, db, auth)

    async def start(self, stop: asyncio.Event | None = None) -> list[asyncio.Task[None]]:
        """The background healing task (none without a feed), until ``stop`` is set (or ``close``)."""
        await self.held.ensure_indexes()
        if self.healing is None:
            return []
        if stop is not None:
            self.stop = stop
        every = self.settings.notifier_heal_seconds
        return [asyncio.create_task(run_healing(self.stop, every, self.healing), name="notifier-healer")]

    async def close(self) -> None:
        """Stop healing and close the feed's connections."""
        self.stop.set()
        await self.http.aclose()
