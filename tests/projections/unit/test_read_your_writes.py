"""Read-your-writes: with the order of the write, the wait ends when that thread has the write, not before."""

from __future__ import annotations

import asyncio
from typing import Any

from ordertalk_projections.application.positions import PositionWatch
from ordertalk_projections.application.reading import ReadSide
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.reading import Viewer

GEN = Generation(1)
ADMIN = Viewer("admin", None)


class Store:
    """The read models as the reading use case sees them: the highest position applied, and threads' positions."""

    def __init__(self, applied: int, threads: dict[str, int]) -> None:
        self.applied, self.threads = applied, threads

    async def active_generation_and_position(self) -> tuple[Generation, int]:
        return GEN, self.applied

    async def thread(self, gen: Generation, viewer: Viewer, order_id: str) -> dict[str, Any] | None:
        position = self.threads.get(order_id)
        return None if position is None else {"_id": order_id, "position": position}

    async def thread_position(self, gen: Generation, order_id: str) -> int | None:
        return self.threads.get(order_id)


def side(store: Store, wait_seconds: float = 5.0) -> tuple[ReadSide, PositionWatch]:
    watch = PositionWatch()
    return ReadSide(store, watch, wait_seconds), watch  # type: ignore[arg-type]


async def test_a_higher_position_of_another_partition_does_not_end_the_wait_for_the_writes_own_thread() -> None:
    store = Store(applied=120, threads={"o-1": 90})  # o-2's event at 120 was applied; o-1's at 100 not yet
    reads, watch = side(store)
    waiting = asyncio.create_task(reads.generation_after(100, written_in="o-1", viewer=ADMIN))
    await asyncio.sleep(0)
    assert not waiting.done()
    store.threads["o-1"] = 100
    watch.advance(121)  # the worker applied the batch with o-1's event
    gen, position = await asyncio.wait_for(waiting, 2)
    assert (gen, position) == (GEN, 121)


async def test_without_the_order_the_highest_position_applied_ends_the_wait() -> None:
    reads, _ = side(Store(applied=120, threads={"o-1": 90}))
    assert await asyncio.wait_for(reads.generation_after(100), 1) == (GEN, 120)


async def test_an_order_the_viewer_may_not_see_waits_out_the_bound_and_answers_below_after() -> None:
    reads, _ = side(Store(applied=120, threads={}), wait_seconds=0.2)
    assert await reads.generation_after(100, written_in="someone-elses", viewer=ADMIN) == (GEN, 120)
