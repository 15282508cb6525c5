"""HTTP entrypoint: pages, static assets, /config.js and the local dev sign-in."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ordertalk_runtime.api_docs import install_api_docs
from ordertalk_runtime.auth import TokenCodec
from ordertalk_runtime.edge import install_edge
from ordertalk_runtime.metrics import install_metrics
from ordertalk_runtime.problems import WRITE_PROBLEMS, Problem, install_problem_handlers, problem_responses
from ordertalk_web.client_config import config_module
from ordertalk_web.pages import (
    PAGES,
    REDIRECTS,
    STATIC_DIR,
    THREAD_ALIASES,
    alias_target,
    not_found_page,
    page_file,
    page_section,
    wants_html,
)
from ordertalk_web.security import security_headers
from ordertalk_web.settings import WebSettings
from ordertalk_web.signin import PERSONAS, UnknownPersona, sign_in

NO_STORE = {"Cache-Control": "no-store"}


class SignInRequest(BaseModel):
    """Who to sign in as (a demo persona's subject)."""

    subject: str = Field(min_length=1, max_length=200)


def _page_route(app: FastAPI, path: str, filename: str) -> None:
    async def page() -> FileResponse:
        return FileResponse(page_file(filename), media_type="text/html", headers=NO_STORE)

    app.add_api_route(path, page, methods=["GET"], include_in_schema=False, name=filename)


def _redirect_route(app: FastAPI, path: str, target: str) -> None:
    async def redirect() -> RedirectResponse:
        return RedirectResponse(target, status_code=307)

    app.add_api_route(path, redirect, methods=["GET"], include_in_schema=False)


def _alias_route(app: FastAPI, path: str, template: str) -> None:
    async def alias(order_id: str) -> RedirectResponse:
        return RedirectResponse(alias_target(template, order_id), status_code=307)

    app.add_api_route(path, alias, methods=["GET"], include_in_schema=False)


def _html_not_found(app: FastAPI, store_name: str) -> None:
    """A browser asking for a missing page of the admin panel or storefront gets an HTML page; others, problem+json."""
    problem = app.exception_handlers[StarletteHTTPException]

    async def page_or_problem(request: Request, exc: Exception) -> Response:
        section = page_section(request.url.path)
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        if status == 404 and section is not None and wants_html(request.headers.get("accept", "")):
            return HTMLResponse(not_found_page(section, store_name), status_code=404, headers=NO_STORE)
        answer = problem(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, page_or_problem)


DEV_OFF = "The dev sign-in is disabled"


def _dev_routes(app: FastAPI, settings: WebSettings, codec: TokenCodec) -> None:
    @app.get("/dev/personas", tags=["dev sign-in"], responses=problem_responses(404, _404=DEV_OFF))
    async def personas() -> list[dict[str, str | None]]:
        """The demo people of the local stack."""
        if not settings.dev_signin:
            raise Problem(404, "Not Found", "dev sign-in is disabled")
        return [{"subject": p.subject, "role": p.role, "name": p.name, "email": p.email} for p in PERSONAS]

    @app.post(
        "/dev/token",
        tags=["dev sign-in"],
        responses=problem_responses(
            404, *WRITE_PROBLEMS, _404=f"No demo person of that subject, or: {DEV_OFF.lower()}"
        ),
    )
    async def token(body: SignInRequest) -> JSONResponse:
        """Mint a JWT for a demo person (local stack only)."""
        if not settings.dev_signin:
            raise Problem(404, "Not Found", "dev sign-in is disabled")
        try:
            return JSONResponse(sign_in(codec, body.subject), headers=NO_STORE)
        except UnknownPersona as exc:
            raise Problem(404, "Not Found", f"no demo person {body.subject!r}") from exc


def create_app(settings: WebSettings, codec: TokenCodec) -> FastAPI:
    """The web service's ASGI app."""
    app = FastAPI(title="ordertalk web", version="1.0.0", docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    install_api_docs(app)
    _html_not_found(app, settings.store_name)
    install_edge(app, codec, public_writes={"/dev/token"})
    install_metrics(app, "web")
    headers = security_headers(settings)
    config_js = config_module(settings)

    @app.middleware("http")
    async def add_security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> dict[str, str]:
        """Ready: the pages need no server of their own (the browser calls the APIs)."""
        return {"status": "ok"}

    @app.get("/config.js", include_in_schema=False)
    async def config() -> Response:
        return Response(config_js, media_type="text/javascript", headers=NO_STORE)

    _dev_routes(app, settings, codec)
    for path, target in REDIRECTS.items():
        _redirect_route(app, path, target)
    for path, filename in PAGES.items():
        _page_route(app, path, filename)
    for path, template in THREAD_ALIASES.items():
        _alias_route(app, path, template)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
