"""RFC 9457 problem details: every error leaves an API as JSON with a 4xx/5xx status."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA_NAME = "Problem"
PROBLEM_REF = {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"}
log = logging.getLogger(__name__)

# What each error status means on these APIs; ``problem_responses`` documents any of them on a route.
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request: a body that is not valid JSON",
    401: "Missing, malformed, expired or wrongly signed bearer token (see WWW-Authenticate)",
    403: "The caller's role may not do this",
    404: "Unknown, or not the caller's",
    409: "Conflicts with the current state",
    413: "The request body is larger than the service accepts",
    422: "Invalid request: a parameter, header or body field the service refuses",
    429: "Too many writes; retry after Retry-After seconds",
    503: "Busy or not ready; retry after Retry-After seconds",
}
# Added to an operation's responses by ``document_problems`` when it has a body, parameters or security.
BODY_PROBLEMS: tuple[int, ...] = (400, 422)
PARAMETER_PROBLEMS: tuple[int, ...] = (422,)
SECURED_PROBLEMS: tuple[int, ...] = (401,)
# Statuses every write may answer besides its own (the edge middleware's body limit and rate limits).
WRITE_PROBLEMS: tuple[int, ...] = (413, 429)


class FieldError(BaseModel):
    """One refused field of an invalid request."""

    loc: list[str | int] = Field(description="Where: body, path, query or header, then the field names")
    msg: str
    type: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details: how every error of these APIs is answered (application/problem+json)."""

    model_config = ConfigDict(title=PROBLEM_SCHEMA_NAME, extra="allow")

    type: str = Field(default="about:blank", description="A URI naming the kind of problem")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(ge=400, le=599, description="The HTTP status code")
    detail: str = Field(description="What went wrong with this request")
    errors: list[FieldError] | None = Field(default=None, description="The refused fields (422 only)")


def problem_response_doc(status: int, description: str | None = None, headers: Iterable[str] = ()) -> dict[str, Any]:
    """The OpenAPI response object of one problem status."""
    doc: dict[str, Any] = {
        "description": description or PROBLEM_DESCRIPTIONS.get(status, "Error"),
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
    }
    if headers:
        doc["headers"] = {name: {"schema": {"type": "string"}} for name in headers}
    return doc


def _headers_of(status: int) -> tuple[str, ...]:
    return {401: ("WWW-Authenticate",), 429: ("Retry-After",), 503: ("Retry-After",)}.get(status, ())


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each status as a problem+json answer (``_409="..."`` overrides a description)."""
    return {
        status: problem_response_doc(status, descriptions.get(f"_{status}"), _headers_of(status)) for status in statuses
    }


class Problem(Exception):
    """An error answered to the client as problem details."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        item = {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        cleaned.append(item)
    return cleaned


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every error answer as problem+json: 400/422 where a body or parameters are
    validated, 401 where a security scheme applies, and the Problem schema in its components."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}))
    schemas[PROBLEM_SCHEMA_NAME] = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                _document_operation(operation)
    return document


def _document_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted: list[int] = []
    if "requestBody" in operation:
        wanted.extend(BODY_PROBLEMS)
    if operation.get("parameters"):
        wanted.extend(PARAMETER_PROBLEMS)
    if operation.get("security"):
        wanted.extend(SECURED_PROBLEMS)
    if "422" in responses and "HTTPValidationError" in json.dumps(responses["422"]):
        del responses["422"]
    for status in wanted:
        responses.setdefault(str(status), problem_response_doc(status, headers=_headers_of(status)))


def install_problem_handlers(app: FastAPI) -> None:
    """Answer validation errors, HTTP errors, Problems and crashes as problem details (and document them so)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_errors(exc.errors())
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors) or "invalid request"
        return problem_response(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, _title(exc.status_code), str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "Internal error", "the server failed to handle the request; it was logged")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
