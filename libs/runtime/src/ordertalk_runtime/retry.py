"""The one retry policy of the system: exponential back-off with jitter (stamina), for transient errors only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import stamina

log = logging.getLogger(__name__)
T = TypeVar("T")
Transient = tuple[type[Exception], ...]

WAIT_INITIAL = 0.1
WAIT_MAX = 5.0
RESTART_INITIAL = 0.5
RESTART_MAX = 10.0
RESET_AFTER = 30.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """The policy's wait after failures in a row: ``initial``, doubling, plus up to ``jitter``, at most ``cap``.

    It is stamina's own formula (``wait_initial * 2 ** (n - 1) + uniform(0, wait_jitter)``, capped at
    ``wait_max``), for loops that wait between tries themselves (the relay's steps) or that store when the next
    try is due (the notifier's e-mails, with no jitter); ``retrying`` and ``supervise`` hand the same parameters
    to stamina.
    """

    initial: float = WAIT_INITIAL
    cap: float = WAIT_MAX
    jitter: float = 0.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1 for the first; 0 counts as 1)."""
        jitter = random.uniform(0, self.jitter) if self.jitter else 0.0
        try:
            return float(min(self.cap, self.initial * 2.0 ** max(0, failures - 1) + jitter))
        except OverflowError:
            return self.cap

    def stamina_kwargs(self) -> dict[str, float]:
        """The same parameters as stamina's ``wait_*`` arguments."""
        return {"wait_initial": self.initial, "wait_max": self.cap, "wait_jitter": self.jitter}


POLICY = Backoff(WAIT_INITIAL, WAIT_MAX, jitter=WAIT_INITIAL)


def restart_backoff(initial: float = RESTART_INITIAL, cap: float = RESTART_MAX) -> Backoff:
    """The policy's back-off for starting something again: from ``initial`` up to ``cap``, jittered by ``initial``."""
    return Backoff(initial, cap, jitter=initial)


async def retrying(
    call: Callable[..., Awaitable[T]], *args: object, on: Transient, what: str, within: float | None = None
) -> T:
    """``await call(*args)``, retrying ``on`` errors (each logged) with the policy's back-off: without end, or for
    ``within`` seconds, after which the last error is raised."""

    async def logged() -> T:
        try:
            return await call(*args)
        except on as exc:
            log.warning("%s failed (%s: %s); retrying", what, type(exc).__name__, exc)
            raise

    caller = stamina.AsyncRetryingCaller(attempts=None, timeout=within, **POLICY.stamina_kwargs())
    return await caller(on, logged)


async def supervise(
    run: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    what: str,
    *,
    initial: float = RESTART_INITIAL,
    cap: float = RESTART_MAX,
) -> None:
    """Run ``run`` until ``stop`` is set, starting it again after a failure with the policy's back-off.

    A run that lasted ``RESET_AFTER`` seconds before failing is started again at once (the back-off starts over);
    failures in a row wait longer each time, from ``initial`` up to ``cap`` seconds.
    """
    task = asyncio.ensure_future(_supervised(run, stop, what, initial, cap))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _supervised(
    run: Callable[[], Awaitable[None]], stop: asyncio.Event, what: str, initial: float, cap: float
) -> None:
    while not stop.is_set():
        ran_long = False
        async for attempt in stamina.retry_context(
            on=Exception, attempts=None, timeout=None, **restart_backoff(initial, cap).stamina_kwargs()
        ):
            with attempt:
                started = time.monotonic()
                try:
                    await run()
                except Exception as exc:
                    if stop.is_set():
                        return
                    log.warning("%s failed (%s: %s); starting it again", what, type(exc).__name__, exc)
                    if time.monotonic() - started < RESET_AFTER:
                        raise
                    ran_long = True
                else:
                    return
        if not ran_long:
            return
