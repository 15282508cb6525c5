"""The FastAPI application: routes, problems, CORS, correlation ids, metrics, and the background relay/consumer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_messaging.application.idempotency import InFlight, KeyLedger
from ordertalk_messaging.application.keyed_writes import KeyedWrites
from ordertalk_messaging.bootstrap import Components
from ordertalk_messaging.entrypoints.api.deps import VerifiedTokens, edge_authenticator
from ordertalk_messaging.entrypoints.api.lean_post import LeanPostRoute
from ordertalk_messaging.entrypoints.api.routes import post_message, router
from ordertalk_runtime.api_docs import install_api_docs
from ordertalk_runtime.edge import install_edge
from ordertalk_runtime.gc_tuning import freeze_startup_objects
from ordertalk_runtime.kafka import ensure_topics
from ordertalk_runtime.metrics import install_metrics
from ordertalk_runtime.observability import CorrelationMiddleware, not_ready_reasons
from ordertalk_runtime.problems import install_problem_handlers

log = logging.getLogger(__name__)


class Background:
    """The relay and the orders consumer, started after the topics exist."""

    def __init__(self, components: Components) -> None:
        self.components = components
        self.stop = asyncio.Event()
        self.topics_ready = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start in the background (the HTTP API is up meanwhile)."""
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        settings = self.components.settings
        while not self.stop.is_set():
            try:
                await ensure_topics(settings.kafka, ALL_TOPICS)
                break
            except Exception as exc:
                log.warning("cannot ensure topics yet (%s)", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), 2.0)
        self.topics_ready = True
        jobs: list[Awaitable[None]] = []
        if self.components.topic_check is not None:
            jobs.append(self.components.topic_check.run(self.stop, settings.kafka.topic_check_seconds))
        if settings.relay_enabled:
            jobs.extend(self.components.relay_jobs(self.stop))
        if settings.orders_consumer_enabled:
            jobs.append(self.components.orders_consumer().run(self.stop))
        await asyncio.gather(*jobs)

    async def close(self) -> None:
        """Stop and wait."""
        self.stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 15)


def create_app(components: Components, *, background: bool = True) -> FastAPI:
    """The messaging API on ``components``; with ``background`` it also runs the relay and consumer."""
    jobs = Background(components)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if background:
            jobs.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await jobs.close()
            components.close()

    app = FastAPI(
        title="Order messaging — write side",
        version="1.0.0",
        description="Commands on order threads (messages, disputes, read positions); event history and feed.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = components.service
    app.state.writes = KeyedWrites(components.service, KeyLedger(components.tables, InFlight()))
    app.state.token_codec = components.codec
    app.state.verified_tokens = tokens = VerifiedTokens(components.codec)
    install_problem_handlers(app)
    install_api_docs(app)
    install_edge(app, components.codec, authenticate=edge_authenticator(tokens))
    install_metrics(app, "messaging")
    app.include_router(router)
    # Well-formed posts skip FastAPI's per-request machinery; the documented route answers the rest.
    app.router.routes.insert(0, LeanPostRoute(f"{router.prefix}/orders/{{order_id}}/messages", post_message))

    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=components.settings.cors_origin_list(),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-ID", "X-Request-ID"],
        expose_headers=["X-Correlation-ID", "Idempotent-Replayed"],
    )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            position = await anyio.to_thread.run_sync(components.service.last_position)
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "detail": f"event store: {exc}"}, status_code=503)
        relay = components.relay
        body = {
            "status": "ok",
            "last_position": position,
            "relay_position": relay.position,
            "relay_healthy": relay.healthy,
            "topics_ready": jobs.topics_ready or not background,
            "server": {
                "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                "http": getattr(app.state, "http_implementation", "unknown"),
            },
        }
        ok = jobs.topics_ready or not background
        checks = [c for c in (components.topic_check, relay) if c is not None] if background else []
        reasons = not_ready_reasons(checks)
        if background and components.settings.orders_consumer_enabled and jobs.topics_ready:
            reasons += components.orders_consumer().problems()
        if reasons:
            return JSONResponse(body | {"status": "unavailable", "reasons": reasons}, status_code=503)
        return JSONResponse(body if ok else body | {"status": "starting"}, status_code=200 if ok else 503)

    return app
