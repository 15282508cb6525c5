"""Whether the mail server answers: one WARNING when an outage starts, one when it ends, and their metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

SMTP_UP = Gauge("ordertalk_smtp_up", "1 while the mail server answers the notifier's senders, 0 during an outage")
SMTP_OUTAGES = Counter("ordertalk_smtp_outages_total", "Outages of the mail server the senders ran into")
SMTP_OUTAGE_SECONDS = Counter("ordertalk_smtp_outage_seconds_total", "Time the mail server was unavailable (ended)")


@dataclass
class MailServerWatch:
    """Outage state shared by every sender: senders report an outage, the probe reports its end."""

    monotonic: Callable[[], float] = time.monotonic
    _down_since: float | None = None
    _answers: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._answers.set()
        SMTP_UP.set(1)

    @property
    def down(self) -> bool:
        """True from the first failure that showed the server unavailable until a probe gets an answer."""
        return self._down_since is not None

    def went_down(self, error: str) -> None:
        """A send found the server unavailable; only the first report of an outage logs."""
        if self._down_since is not None:
            return
        self._down_since = self.monotonic()
        self._answers.clear()
        SMTP_UP.set(0)
        SMTP_OUTAGES.inc()
        log.warning("mail server unavailable (%s): e-mails stay in the outbox until it answers again", error)

    def came_back(self) -> float:
        """A probe got an answer: end the outage; answers how long it lasted (0 if there was none)."""
        if self._down_since is None:
            return 0.0
        seconds = self.monotonic() - self._down_since
        self._down_since = None
        self._answers.set()
        SMTP_UP.set(1)
        SMTP_OUTAGE_SECONDS.inc(seconds)
        log.warning("mail server answers again after %.1f s; sending the e-mails held meanwhile", seconds)
        return seconds

    async def answering(self) -> None:
        """Wait until the server is not known to be down."""
        await self._answers.wait()
