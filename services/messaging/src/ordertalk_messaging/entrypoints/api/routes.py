"""The routes of the messaging API (docs/interfaces.md, "Messaging API").

Idempotency keys as HTTP (application.idempotency has which answers a key keeps): a key keeps a
success and the thread's refusals of the command, 409 (a dispute already open, or none open) and 422
(text the rules refuse); a refused key is 422 (malformed, or used with another request) or 409 (its
first request still in flight); 404, 503 and the edge's 401, 413 and 429 are not kept.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from ordertalk_messaging.application.idempotency import (
    MAX_KEY_CHARS,
    Answer,
    AnsweredChange,
    KeyedChange,
    KeyGuard,
    KeyInFlight,
    KeyRejected,
    check_key,
    fingerprint,
    message_id_for,
    run_once,
)
from ordertalk_messaging.application.services import (
    closing_dispute,
    marking_read,
    marking_unread,
    opening_dispute,
    posting,
)
from ordertalk_messaging.application.translation import notification_to_contract
from ordertalk_messaging.application.writer import Decide, WriteOutcome
from ordertalk_messaging.domain.errors import DomainError
from ordertalk_messaging.domain.thread import PostedMessage
from ordertalk_messaging.entrypoints.api.deps import (
    CurrentAdmin,
    CurrentPrincipal,
    applied,
    caller_of,
    correlation_id,
    idempotency_of,
    in_flight_of,
    in_worker,
    problem_for,
    scope_of,
    service_of,
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


async def _write(request: Request, principal: Principal, payload: Any, work: Callable[[], Answer]) -> Response:
    """Run a write touching several threads (blocking ``work``) in a worker thread, once per Idempotency-Key."""
    key = request.headers.get("idempotency-key")
    try:
        if key is None:
            answer = await in_worker(work)
        else:
            guard = _guard(request, principal, key, payload)
            answer = await in_worker(lambda: run_once(guard, work))
    except KeyRejected as exc:
        raise _key_problem(exc) from None
    return _response(answer)


async def _write_one(
    request: Request,
    principal: Principal,
    payload: Any,
    status: int,
    order_id: str,
    decide: Decide[T],
    render: Callable[[WriteOutcome[T]], BaseModel],
) -> Response:
    """A command on one thread, through the writer; a keyed one keeps its answer in the events' own commit."""

    def answer_of(outcome: WriteOutcome[T]) -> Answer:
        return Answer(status, render(outcome).model_dump_json())

    key = request.headers.get("idempotency-key")
    caller = caller_of(principal)
    try:
        if key is None:
            change: AnsweredChange[T] = AnsweredChange(order_id, caller, decide, answer_of)
        else:
            guard = _guard(request, principal, key, payload)
            change = KeyedChange(order_id, caller, decide, answer_of, guard, refusal=_kept_refusal)
        answer = await applied(service_of(request), change)
    except KeyRejected as exc:
        raise _key_problem(exc) from None
    return _response(answer)


def _guard(request: Request, principal: Principal, key: str, payload: Any) -> KeyGuard:
    checked, print_ = check_key(key), fingerprint(request.method, request.scope["path"], payload)
    return KeyGuard(idempotency_of(request), in_flight_of(request), scope_of(principal), checked, print_)


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


def _dispute_result(out: WriteOutcome[int]) -> BaseModel:
    return DisputeWriteResult(**_base(out), dispute_no=out.value)


def _read_result(out: WriteOutcome[int]) -> BaseModel:
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
    key = request.headers.get("idempotency-key")
    message_id = body.message_id or (message_id_for(scope_of(principal), key) if key else uuid.uuid4())
    decide = posting(message_id, body.body, caller_of(principal), correlation_id(request))

    def render(out: WriteOutcome[PostedMessage]) -> BaseModel:
        return MessageWriteResult(**_base(out), message_id=out.value.message_id, seq=out.value.seq)

    return await _write_one(request, principal, _payload(body), 201, order_id, decide, render)


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
    decide = opening_dispute(body.reason, caller_of(principal), correlation_id(request))
    return await _write_one(request, principal, _payload(body), 201, order_id, decide, _dispute_result)


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
    decide = closing_dispute(caller_of(principal), correlation_id(request))
    return await _write_one(request, principal, _payload(body), 200, order_id, decide, _dispute_result)


@router.post("/orders/{order_id}/read", response_model=ReadWriteResult, responses=WRITE, openapi_extra=IDEMPOTENCY_KEY)
async def mark_read(
    order_id: OrderId, request: Request, principal: CurrentPrincipal, body: EmptyIn | None = None
) -> Response:
    """Mark the thread read for the caller's party."""
    decide = marking_read(caller_of(principal), correlation_id(request))
    return await _write_one(request, principal, _payload(body), 200, order_id, decide, _read_result)


@router.post(
    "/orders/{order_id}/unread", response_model=ReadWriteResult, responses=WRITE, openapi_extra=IDEMPOTENCY_KEY
)
async def mark_unread(
    order_id: OrderId, request: Request, principal: CurrentPrincipal, body: EmptyIn | None = None
) -> Response:
    """Make the other side's latest message unread again for the caller's party."""
    decide = marking_unread(caller_of(principal), correlation_id(request))
    return await _write_one(request, principal, _payload(body), 200, order_id, decide, _read_result)


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

    return await _write(request, principal, _payload(body), lambda: Answer(200, run().model_dump_json()))


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
