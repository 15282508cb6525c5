"""Use cases of the API: read the read models with read-your-writes (wait, bounded, for a global position)."""

from __future__ import annotations

from ordertalk_projections.application.ports import ReadModelReader
from ordertalk_projections.application.positions import PositionWatch, wait_until
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.reading import Viewer


class ReadSide:
    """What the routes need: the read-model port, the in-process position watch, the wait bound."""

    def __init__(self, reader: ReadModelReader, watch: PositionWatch, wait_seconds: float) -> None:
        self.queries, self.watch, self.wait_seconds = reader, watch, wait_seconds

    async def ready(self) -> bool:
        """Whether the read models' database answers."""
        return await self.queries.ping()

    async def generation_after(
        self,
        after: int | None,
        thread_id: str | None = None,
        *,
        written_in: str | None = None,
        viewer: Viewer | None = None,
    ) -> tuple[Generation, int]:
        """The active generation once ``after`` is applied (or the wait bound passed), and its position.

        With ``written_in`` (the thread whose event stands at ``after``, as a write's answer names it) the wait is
        exact: it ends when that thread, as ``viewer`` may see it, has reached ``after``, and the position answered
        is then at least ``after``. Without it, the wait ends when the highest position applied reaches ``after``,
        which an event of another partition can reach first (or, with ``thread_id``, when that thread has).
        """
        gen, stored = await self.queries.active_generation_and_position()
        applied = max(self.watch.position, stored)
        if not after or (written_in is None and applied >= after):  # 0: no write to wait for
            return gen, applied
        exact = written_in is not None and viewer is not None

        async def reached() -> bool:
            nonlocal gen, applied
            gen, stored = await self.queries.active_generation_and_position()
            applied = max(self.watch.position, stored)
            if exact:
                assert written_in is not None and viewer is not None
                doc = await self.queries.thread(gen, viewer, written_in)
                if doc is not None and int(doc.get("position", 0)) >= after:
                    applied = max(applied, after)
                    return True
                return False
            if applied >= after:
                return True
            if thread_id is not None:
                position = await self.queries.thread_position(gen, thread_id)
                return position is not None and position >= after
            return False

        await wait_until(reached, self.watch, self.wait_seconds)
        return gen, applied
