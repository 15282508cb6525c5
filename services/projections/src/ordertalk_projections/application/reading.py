"""Use cases of the API: read the read models with read-your-writes (wait, bounded, for a global position)."""

from __future__ import annotations

from ordertalk_projections.application.ports import ReadModelReader
from ordertalk_projections.application.positions import PositionWatch, wait_until
from ordertalk_projections.domain.generations import Generation


class ReadSide:
    """What the routes need: the read-model port, the in-process position watch, the wait bound."""

    def __init__(self, reader: ReadModelReader, watch: PositionWatch, wait_seconds: float) -> None:
        self.queries, self.watch, self.wait_seconds = reader, watch, wait_seconds

    async def ready(self) -> bool:
        """Whether the read models' database answers."""
        return await self.queries.ping()

    async def generation_after(self, after: int | None, thread_id: str | None = None) -> tuple[Generation, int]:
        """The active generation once ``after`` is applied (or the wait bound passed), and its position."""
        gen, stored = await self.queries.active_generation_and_position()
        applied = max(self.watch.position, stored)
        if after is None or applied >= after:
            return gen, applied

        async def reached() -> bool:
            nonlocal gen, applied
            gen, stored = await self.queries.active_generation_and_position()
            applied = max(self.watch.position, stored)
            if applied >= after:
                return True
            if thread_id is not None:
                position = await self.queries.thread_position(gen, thread_id)
                return position is not None and position >= after
            return False

        await wait_until(reached, self.watch, self.wait_seconds)
        return gen, applied
