"""Use case of the API: one thread's list row once it has an event (a live list's read after a bell alert)."""

from __future__ import annotations

import time

from ordertalk_projections.application.reading import ReadSide
from ordertalk_projections.domain.documents import Document
from ordertalk_projections.domain.reading import Viewer


async def thread_after(
    side: ReadSide, viewer: Viewer, order_id: str, after: int | None, after_order: str | None
) -> tuple[Document | None, int]:
    """The thread document as ``viewer`` may see it once it has reached ``after``, and the position to answer.

    Every open admin list sends this read for each alert, so a wait must cost little: the thread is read at once
    (an alert often comes after the read side applied its event: that one read answers); else, when the workers
    share this process, the in-process watch is awaited without any query until it reaches ``after`` (bounded like
    every wait), and the thread is read again; only if it still lacks the position does the read wait as every
    read route does (``ReadSide.generation_after``). Nothing but this thread is in the answer, so its reaching
    ``after`` is all ``after_order``'s wait could add.
    """
    gen, position = await side.queries.active_generation_and_position()
    doc = await side.queries.thread(gen, viewer, order_id)
    if after and not _reached(doc, after) and side.watch.position > 0:
        deadline = time.monotonic() + side.wait_seconds
        while side.watch.position < after and (left := deadline - time.monotonic()) > 0:
            await side.watch.changed(left)
        gen, position = await side.queries.active_generation_and_position()
        doc = await side.queries.thread(gen, viewer, order_id)
        if side.watch.position < after:  # the bound has passed: answer what there is, as the other reads do
            return doc, _answered(doc, max(position, side.watch.position))
    if after and not _reached(doc, after):
        gen, position = await side.generation_after(after, order_id, written_in=after_order, viewer=viewer)
        doc = await side.queries.thread(gen, viewer, order_id)
    return doc, _answered(doc, max(position, side.watch.position))


def _reached(doc: Document | None, after: int) -> bool:
    return doc is not None and int(doc.get("position", 0)) >= after


def _answered(doc: Document | None, position: int) -> int:
    """The X-Projection-Position of the answer: what was applied, at least the thread's own position."""
    return max(position, int(doc.get("position", 0))) if doc is not None else position
