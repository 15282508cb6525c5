"""HTTP entrypoint: the projection API (thread list, thread, orders, bell) with read-your-writes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from ordertalk_threadstate import BellCounts

from ordertalk_projections.application.reading import ReadSide
from ordertalk_projections.application.rows import thread_after
from ordertalk_projections.domain.documents import order_row, thread_detail, thread_row
from ordertalk_projections.domain.reading import OrderMessages, ThreadType, Viewer
from ordertalk_runtime.api_docs import install_api_docs
from ordertalk_runtime.auth import CurrentPrincipal, Principal, TokenCodec
from ordertalk_runtime.edge import install_edge
from ordertalk_runtime.metrics import install_metrics
from ordertalk_runtime.observability import CorrelationMiddleware
from ordertalk_runtime.problems import Problem, install_problem_handlers, problem_responses

POSITION_HEADER = "X-Projection-Position"
After = Annotated[int | None, Query(ge=0, description="Wait (up to 2 s) until this global position is applied.")]
AfterOrder = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="The order whose event stands at `after` (a write's answer names it): the wait then ends when "
        "that order's thread has reached `after`, exactly (without it, when the highest position applied has, "
        "which an event of another order can reach first). X-Projection-Position is at least `after` once it has.",
    ),
]
Page = Annotated[int, Query(ge=1, le=100_000)]
THREAD_TYPES = (
    "all; unread: threads with unread messages for you (the bell's Messages); disputes: threads with an open "
    "dispute; unseen_disputes: open disputes you have not seen (the bell's Disputes); news: threads with unread "
    "messages or an unseen dispute (the bell's badge)"
)
PerPage = Annotated[int, Query(ge=1, le=200)]
NOT_FOUND = problem_responses(404, _404="No such thread or order for the caller")
NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not ready: MongoDB unreachable or the workers not running",
        "content": {"application/json": {}},
    }
}


def _side(request: Request) -> ReadSide:
    side = request.app.state.read_side()
    assert isinstance(side, ReadSide)
    return side


SideDep = Annotated[ReadSide, Depends(_side)]


def _viewer(principal: Principal) -> Viewer:
    return Viewer.of(principal.role, principal.subject)


def _not_found(order_id: str) -> Problem:
    return Problem(404, "Not Found", f"no thread or order {order_id!r} for you")


def create_app(
    codec: TokenCodec,
    cors_origins: list[str],
    read_side: Callable[[], ReadSide],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    ready: Callable[[], Any] | None = None,
    not_ready: Callable[[], list[str]] | None = None,
) -> FastAPI:
    """The projection API; ``read_side`` is resolved per request (it is built in the lifespan).

    ``not_ready`` gives the reasons (a missing topic, for one) that turn ``/readyz`` to 503.
    """
    app = FastAPI(title="ordertalk projections", version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.token_codec = codec
    app.state.read_side = read_side
    install_problem_handlers(app)
    install_api_docs(app)
    install_edge(app, codec)
    install_metrics(app, "projections")
    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins,
        allow_methods=["GET", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=[POSITION_HEADER],
    )

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses=NOT_READY)
    async def readyz() -> JSONResponse:
        try:
            ok = await read_side().ready()
        except Exception:
            ok = False
        extra = bool(ready()) if ready is not None else True
        reasons = not_ready() if not_ready is not None else []
        status = 200 if ok and extra and not reasons else 503
        return JSONResponse({"mongo": ok, "workers": extra} | ({"reasons": reasons} if reasons else {}), status)

    @app.get("/v1/threads", tags=["threads"])
    async def list_threads(
        principal: CurrentPrincipal,
        rs: SideDep,
        response: Response,
        q: Annotated[str | None, Query(max_length=200)] = None,
        type: Annotated[ThreadType, Query(description=THREAD_TYPES)] = "all",
        page: Page = 1,
        per_page: PerPage = 25,
        after: After = None,
        after_order: AfterOrder = None,
    ) -> dict[str, Any]:
        viewer = _viewer(principal)
        gen, position = await rs.generation_after(after, written_in=after_order, viewer=viewer)
        docs, total = await rs.queries.threads(gen, viewer, q, type, page, per_page)
        response.headers[POSITION_HEADER] = str(position)
        items = [thread_row(d, viewer.party) for d in docs]
        return {"items": items, "total": total, "page": page, "per_page": per_page}

    @app.get("/v1/threads/{order_id}", tags=["threads"], responses=NOT_FOUND)
    async def get_thread(
        principal: CurrentPrincipal,
        rs: SideDep,
        response: Response,
        order_id: str,
        limit: Annotated[int, Query(ge=1, le=200, description="How many messages the page holds at most.")] = 50,
        before_seq: Annotated[
            int | None,
            Query(
                ge=1,
                description="Only messages with a seq below this one: the previous answer's `next_before_seq` "
                "(without it, the latest messages).",
            ),
        ] = None,
        after: After = None,
        after_order: AfterOrder = None,
    ) -> dict[str, Any]:
        """The thread with one page of its messages: the latest, or those before `before_seq` (oldest first).

        `older` says whether messages exist before the page; pass `next_before_seq` as `before_seq` for them.
        """
        viewer = _viewer(principal)
        gen, position = await rs.generation_after(after, order_id, written_in=after_order, viewer=viewer)
        doc = await rs.queries.thread(gen, viewer, order_id)
        if doc is None:
            raise _not_found(order_id)
        response.headers[POSITION_HEADER] = str(max(position, int(doc.get("position", 0))))
        messages, older = await rs.queries.messages(gen, order_id, before_seq, limit)
        return thread_detail(doc, viewer.party, messages, older)

    @app.get("/v1/threads/{order_id}/row", tags=["threads"], responses=NOT_FOUND)
    async def get_thread_row(
        principal: CurrentPrincipal,
        rs: SideDep,
        response: Response,
        order_id: str,
        after: After = None,
        after_order: AfterOrder = None,
    ) -> dict[str, Any]:
        """One thread as a row of the thread list (the list's `items` entry), without its messages.

        A live list patches itself with it after a bell alert instead of reading its page and total again.
        """
        viewer = _viewer(principal)
        doc, position = await thread_after(rs, viewer, order_id, after, after_order)
        if doc is None:
            raise _not_found(order_id)
        response.headers[POSITION_HEADER] = str(position)
        return thread_row(doc, viewer.party)

    @app.get("/v1/orders", tags=["orders"])
    async def list_orders(
        principal: CurrentPrincipal,
        rs: SideDep,
        response: Response,
        messages: OrderMessages = "all",
        page: Page = 1,
        per_page: PerPage = 25,
        after: After = None,
        after_order: AfterOrder = None,
    ) -> dict[str, Any]:
        viewer = _viewer(principal)
        gen, position = await rs.generation_after(after, written_in=after_order, viewer=viewer)
        docs, total = await rs.queries.orders(gen, viewer, messages, page, per_page)
        response.headers[POSITION_HEADER] = str(position)
        return {"items": [order_row(d) for d in docs], "total": total, "page": page, "per_page": per_page}

    @app.get("/v1/orders/{order_id}", tags=["orders"], responses=NOT_FOUND)
    async def get_order(
        principal: CurrentPrincipal,
        rs: SideDep,
        response: Response,
        order_id: str,
        after: After = None,
        after_order: AfterOrder = None,
    ) -> dict[str, Any]:
        viewer = _viewer(principal)
        gen, position = await rs.generation_after(after, order_id, written_in=after_order, viewer=viewer)
        doc = await rs.queries.order(gen, viewer, order_id)
        if doc is None:
            raise _not_found(order_id)
        response.headers[POSITION_HEADER] = str(position)
        return order_row(doc)

    @app.get("/v1/bell", tags=["bell"])
    async def bell(
        principal: CurrentPrincipal,
        rs: SideDep,
        response: Response,
        after: After = None,
        after_order: AfterOrder = None,
    ) -> BellCounts:
        """The caller's bell: threads with news (the badge), threads with unread messages, unseen open disputes."""
        viewer = _viewer(principal)
        gen, position = await rs.generation_after(after, written_in=after_order, viewer=viewer)
        response.headers[POSITION_HEADER] = str(position)
        return await rs.queries.bell(gen, viewer)

    return app
