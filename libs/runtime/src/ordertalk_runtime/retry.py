"""The one retry policy of the system: exponential back-off with jitter (stamina), for transient errors only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
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


async def retrying(call: Callable[..., Awaitable[T]], *args: object, on: Transient, what: str) -> T:
    """``await call(*args)``, retrying ``on`` errors without end (each logged) with the policy's back-off."""

    async def logged() -> T:
        try:
            return await call(*args)
        except on as exc:
            log.warning("%s failed (%s: %s); retrying", what, type(exc).__name__, exc)
            raise

    caller = stamina.AsyncRetryingCaller(
        attempts=None, timeout=None, wait_initial=WAIT_INITIAL, wait_max=WAIT_MAX, wait_jitter=WAIT_INITIAL
    )
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
            on=Exception,
            attempts=None,
            timeout=None,
            wait_initial=initial,
            wait_max=cap,
            wait_jitter=initial,
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
