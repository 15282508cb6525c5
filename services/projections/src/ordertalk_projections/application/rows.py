"""Use case of the API: one thread's list row once it has an event (a live list's read after a bell alert)."""

from __future__ import annotations

from ordertalk_projections.application.reading import ReadSide
from ordertalk_projections.domain.documents import Document
from ordertalk_projections.domain.reading import Viewer


async def thread_after(
    side: ReadSide, viewer: Viewer, order_id: str, after: int | None, after_order: str | None
) -> tuple[Document | None, int]:
    """The thread document as ``viewer`` may see it once it has reached ``after``, and the position to answer.

    The thread itself is read first: when it has reached ``after`` already (an alert usually comes after the read
    side applied its event) that one read answers, without the wait's own reads; else the read waits as every read
    route does (``ReadSide.generation_after``, bounded) and reads the thread again. Nothing but this thread is in
    the answer, so its reaching ``after`` is all ``after_order``'s wait could add.
    """
    gen, position = await side.queries.active_generation_and_position()
    doc = await side.queries.thread(gen, viewer, order_id)
    reached = doc is not None and int(doc.get("position", 0)) >= (after or 0)
    if not reached and after:
        gen, position = await side.generation_after(after, order_id, written_in=after_order, viewer=viewer)
        doc = await side.queries.thread(gen, viewer, order_id)
    position = max(position, side.watch.position)
    if doc is not None:
        position = max(position, int(doc.get("position", 0)))
    return doc, position
