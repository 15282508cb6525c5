"""The routes of the messaging API (docs/interfaces.md, "Messaging API").

Idempotency keys as HTTP (application.idempotency has which answers a key keeps): a key keeps a
success and the thread's refusals of the command, 409 (a dispute already open, or none open) and 422
(text the rules refuse); a refused key is 422 (malformed, or used with another request) or 409 (its
first request still in flight); 404, 503 and the edge's 401, 413 and 429 are not kept.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from ordertalk_messaging.application.idempotency import (
    MAX_KEY_CHARS,
    Answer,
    KeyedRequest,
    KeyInFlight,
    KeyRejected,
    fingerprint,
)
from ordertalk_messaging.application.translation import notification_to_contract
from ordertalk_messaging.application.writer import WriteOutcome
from ordertalk_messaging.domain.errors import DomainError
from ordertalk_messaging.domain.thread import PostedMessage
from ordertalk_messaging.entrypoints.api.deps import (
    CurrentAdmin,
    CurrentPrincipal,
    as_problems,
    caller_of,
    correlation_id,
    in_worker,
    problem_for,
    scope_of,
    service_of,
    writes_of,
)
from ordertalk_messaging.entrypoints.api.schemas import (
    BulkWriteResult,
    DisputeWriteResult,
    EmptyIn,
    EventsOut,
    HistoryOut,
    MessageWriteResult,
    OpenDisputeIn,
    PostMessageIn,
    ReadWriteResult,
    SelectionIn,
)
from ordertalk_runtime.auth import Principal
from ordertalk_runtime.problems import WRITE_PROBLEMS, Problem, problem_responses

T = TypeVar("T")
router = APIRouter(prefix="/v1")
OrderId = Annotated[str, Path(min_length=1, max_length=200)]
KEY_IN_FLIGHT = "A request with this Idempotency-Key is still being processed"
# A write: 404 for an unknown order (or another customer's), the key's answers, a busy writer, the edge limits.
WRITE = problem_responses(404, 409, 503, *WRITE_PROBLEMS, _404="Unknown order, or not the caller's", _409=KEY_IN_FLIGHT)
DISPUTE_OPEN = problem_responses(409, _409=f"A dispute is already open, or: {KEY_IN_FLIGHT.lower()}")
DISPUTE_NOT_OPEN = problem_responses(409, _409=f"No dispute is open, or: {KEY_IN_FLIGHT.lower()}")
READ = problem_responses(404, 503, _404="Unknown order, or not the caller's")
IDEMPOTENCY_KEY: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Makes the write safe to retry: a repeated key with the same request answers the first "
            "answer again (with `Idempotent-Replayed: true`), with another request 422. Keys are per caller.",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS, "pattern": "^[!-~]+$"},
        }
    ]
}


def _base(outcome: WriteOutcome[Any]) -> dict[str, Any]:
    return {
        "order_id": outcome.order_id,
        "thread_id": outcome.thread_id,
        "thread_version": outcome.thread_version,
        "position": outcome.position,
    }


async def _answered(answer: Awaitable[Answer]) -> Response:
    """The response of a write: refused commands and keys as problems, a kept answer as it was given."""
    try:
        with as_problems():
            given = await answer
    except KeyRejected as exc:
        raise _key_problem(exc) from None
    return _response(given)


def _keyed(request: Request, principal: Principal, payload: Any) -> KeyedRequest | None:
    """The request's Idempotency-Key, per caller, with the request's fingerprint (None without a key)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    return KeyedRequest(scope_of(principal), key, fingerprint(request.method, request.scope["path"], payload))


def _rendering(status: int, render: Callable[[WriteOutcome[T]], BaseModel]) -> Callable[[WriteOutcome[T]], Answer]:
    def answer_of(outcome: WriteOutcome[T]) -> Answer:
        return Answer(status, render(outcome).model_dump_json())

    return answer_of


def _key_problem(error: KeyRejected) -> Problem:
    """A refused key: 409 while its first request is in flight, 422 otherwise."""
    return Problem(409 if isinstance(error, KeyInFlight) else 422, "Idempotency-Key refused", error.detail)


def _kept_refusal(error: DomainError) -> Answer:
    """The problem answer a key keeps for a command its thread refused."""
    problem = problem_for(error)
    body = {"type": "about:blank", "title": problem.title, "status": problem.status, "detail": problem.detail}
    return Answer(problem.status, json.dumps(body, ensure_ascii=False, separators=(",", ":")))


def _response(answer: Answer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    media_type = "application/problem+json" if answer.status >= 400 else "application/json"  # a kept refusal
    return Response(answer.body, status_code=answer.status, media_type=media_type, headers=headers)


def _dispute(out: WriteOutcome[int]) -> BaseModel:
    return DisputeWriteResult(**_base(out), dispute_no=out.value)


def _read(out: WriteOutcome[int]) -> BaseModel:
    return ReadWriteResult(**_base(out), read_up_to=out.value)


def _payload(body: BaseModel | None) -> Any:
    return body.model_dump(mode="json", exclude_unset=True) if body is not None else {}


@router.post(
    "/orders/{order_id}/messages",
    status_code=201,
    response_model=MessageWriteResult,
    responses=WRITE,
    openapi_extra=IDEMPOTENCY_KEY,
)
async def post_message(
    order_id: OrderId, body: PostMessageIn, request: Request, principal: CurrentPrincipal
) -> Response:
    """Post a message to the order's thread (it moves the author's read position to it)."""

    def render(out: WriteOutcome[PostedMessage]) -> BaseModel:
        return MessageWriteResult(**_base(out), message_id=out.value.message_id, seq=out.value.seq)

    keyed, cid = _keyed(request, principal, _payload(body)), correlation_id(request)
    answer = writes_of(request).post_message(
        order_id, caller_of(principal), body.message_id, body.body, cid, _rendering(201, render), _kept_refusal, keyed
    )
    return await _answered(answer)


@router.post(
    "/orders/{order_id}/dispute",
    status_code=201,
    response_model=DisputeWriteResult,
    responses=WRITE | DISPUTE_OPEN,
    openapi_extra=IDEMPOTENCY_KEY,
)
async def open_dispute(
    order_id: OrderId, body: OpenDisputeIn, request: Request, principal: CurrentPrincipal
) -> Response:
    """Open a dispute with a reason."""
    keyed, cid, render = _keyed(request, principal, _payload(body)), correlation_id(request), _rendering(201, _dispute)
    answer = writes_of(request).open_dispute(
        order_id, caller_of(principal), body.reason, cid, render, _kept_refusal, keyed
    )
    return await _answered(answer)


@router.post(
    "/orders/{order_id}/dispute/close",
    response_model=DisputeWriteResult,
    responses=WRITE | DISPUTE_NOT_OPEN,
    openapi_extra=IDEMPOTENCY_KEY,
)
async def close_dispute(
    order_id: OrderId, request: Request, principal: CurrentPrincipal, body: EmptyIn | None = None
) -> Response:
    """Close the open dispute."""
    keyed, cid, render = _keyed(request, principal, _payload(body)), correlation_id(request), _rendering(200, _dispute)
    answer = writes_of(request).close_dispute(order_id, caller_of(principal), cid, render, _kept_refusal, keyed)
    return await _answered(answer)


async def _mark(
    order_id: str, request: Request, principal: Principal, body: EmptyIn | None, *, unread: bool
) -> Response:
    keyed, cid, render = _keyed(request, principal, _payload(body)), correlation_id(request), _rendering(200, _read)
    writes = writes_of(request)
    answer = writes.mark(order_id, caller_of(principal), cid, render, _kept_refusal, keyed, unread=unread)
    return await _answered(answer)


@router.post("/orders/{order_id}/read", response_model=ReadWriteResult, responses=WRITE, openapi_extra=IDEMPOTENCY_KEY)
async def mark_read(
    order_id: OrderId, request: Request, principal: CurrentPrincipal, body: EmptyIn | None = None
) -> Response:
    """Mark the thread read for the caller's party."""
    return await _mark(order_id, request, principal, body, unread=False)


@router.post(
    "/orders/{order_id}/unread", response_model=ReadWriteResult, responses=WRITE, openapi_extra=IDEMPOTENCY_KEY
)
async def mark_unread(
    order_id: OrderId, request: Request, principal: CurrentPrincipal, body: EmptyIn | None = None
) -> Response:
    """Make the other side's latest message unread again for the caller's party."""
    return await _mark(order_id, request, principal, body, unread=True)


async def _bulk(request: Request, principal: Principal, body: SelectionIn, unread: bool) -> Response:
    service, caller, cid = service_of(request), caller_of(principal), correlation_id(request)

    def run() -> BulkWriteResult:
        if body.order_ids is not None:
            order_ids = list(dict.fromkeys(body.order_ids))
            service.check_visible(order_ids, caller)
        else:
            order_ids = service.visible_order_ids(caller)
        outcomes = service.mark_all(order_ids, caller, cid, unread=unread)
        results = [ReadWriteResult(**_base(out), read_up_to=out.value) for out in outcomes]
        position = max((r.position for r in results), default=service.last_position())
        return BulkWriteResult(results=results, position=position)

    writes, keyed = writes_of(request), _keyed(request, principal, _payload(body))
    return await _answered(in_worker(lambda: writes.run_once(keyed, lambda: Answer(200, run().model_dump_json()))))


@router.post("/threads/read", response_model=BulkWriteResult, responses=WRITE, openapi_extra=IDEMPOTENCY_KEY)
async def mark_threads_read(body: SelectionIn, request: Request, principal: CurrentPrincipal) -> Response:
    """Mark the selected threads (or all the caller may see) read."""
    return await _bulk(request, principal, body, unread=False)


@router.post("/threads/unread", response_model=BulkWriteResult, responses=WRITE, openapi_extra=IDEMPOTENCY_KEY)
async def mark_threads_unread(body: SelectionIn, request: Request, principal: CurrentPrincipal) -> Response:
    """Mark the selected threads (or all the caller may see) unread."""
    return await _bulk(request, principal, body, unread=True)


@router.get("/orders/{order_id}/history", response_model=HistoryOut, responses=READ)
async def history(order_id: OrderId, request: Request, principal: CurrentPrincipal) -> HistoryOut:
    """Every event of the thread, oldest first: who wrote, read, opened or closed what, when."""
    service, caller = service_of(request), caller_of(principal)

    def run() -> HistoryOut:
        mapper = service.store.mapper
        notes = service.history(order_id, caller)
        return HistoryOut(events=[notification_to_contract(mapper, n).model_dump(mode="json") for n in notes])

    return await in_worker(run)


@router.get("/events", response_model=EventsOut, responses=problem_responses(403, 503))
async def events(
    request: Request,
    _: CurrentAdmin,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventsOut:
    """The global event feed in store order (for read-model rebuilds and gap healing); staff only."""
    service = service_of(request)

    def run() -> EventsOut:
        notes = service.notifications(after, limit)
        items = [notification_to_contract(service.store.mapper, n).model_dump(mode="json") for n in notes]
        return EventsOut(events=items, last_position=notes[-1].id if notes else after)

    return await in_worker(run)
