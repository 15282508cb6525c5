"""The routes of the messaging API (docs/interfaces.md, "Messaging API")."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from ordertalk_messaging.api.deps import (
    CurrentAdmin,
    CurrentPrincipal,
    caller_of,
    correlation_id,
    idempotency_of,
    in_flight_of,
    in_worker,
    scope_of,
    service_of,
)
from ordertalk_messaging.api.schemas import (
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
from ordertalk_messaging.application import InSave, WriteOutcome
from ordertalk_messaging.domain.thread import PostedMessage
from ordertalk_messaging.idempotency import (
    Answer,
    KeyRejected,
    PendingAnswer,
    check_key,
    fingerprint,
    message_id_for,
    run_once,
)
from ordertalk_messaging.translation import notification_to_contract
from ordertalk_runtime.auth import Principal
from ordertalk_runtime.problems import Problem

T = TypeVar("T")
router = APIRouter(prefix="/v1")
OrderId = Annotated[str, Path(min_length=1, max_length=200)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown order, or not the caller's"}}


def _base(outcome: WriteOutcome[Any]) -> dict[str, Any]:
    return {
        "order_id": outcome.order_id,
        "thread_id": outcome.thread_id,
        "thread_version": outcome.thread_version,
        "position": outcome.position,
    }


async def _write(
    request: Request, principal: Principal, payload: Any, work: Callable[[PendingAnswer | None], Answer]
) -> Response:
    """Run a write (blocking ``work``) in one worker thread, once per Idempotency-Key when one is given."""
    key = request.headers.get("idempotency-key")
    try:
        if key is None:
            answer = await in_worker(lambda: work(None))
        else:
            checked, print_ = check_key(key), fingerprint(request.method, request.scope["path"], payload)
            store, in_flight, scope = idempotency_of(request), in_flight_of(request), scope_of(principal)
            answer = await in_worker(lambda: run_once(store, in_flight, scope, checked, print_, work))
    except KeyRejected as exc:
        raise Problem(exc.status, "Idempotency-Key refused", exc.detail) from None
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body, status_code=answer.status, media_type="application/json", headers=headers)


async def _write_one(
    request: Request,
    principal: Principal,
    payload: Any,
    status: int,
    command: Callable[[InSave | None], WriteOutcome[T]],
    render: Callable[[WriteOutcome[T]], BaseModel],
) -> Response:
    """A command on one thread: a keyed one keeps its answer in the events' own commit when the store can."""

    def answer_of(outcome: WriteOutcome[T]) -> Answer:
        return Answer(status, render(outcome).model_dump_json())

    def work(pending: PendingAnswer | None) -> Answer:
        if pending is not None:
            pending.render = answer_of
        outcome = command(pending)
        if pending is not None and pending.kept is not None:
            return pending.kept
        return answer_of(outcome)

    return await _write(request, principal, payload, work)


def _dispute_result(out: WriteOutcome[int]) -> BaseModel:
    return DisputeWriteResult(**_base(out), dispute_no=out.value)


def _read_result(out: WriteOutcome[int]) -> BaseModel:
    return ReadWriteResult(**_base(out), read_up_to=out.value)


def _payload(body: BaseModel | None) -> Any:
    return body.model_dump(mode="json", exclude_unset=True) if body is not None else {}


@router.post("/orders/{order_id}/messages", status_code=201, response_model=MessageWriteResult, responses=NOT_FOUND)
async def post_message(
    order_id: OrderId, body: PostMessageIn, request: Request, principal: CurrentPrincipal
) -> Response:
    """Post a message to the order's thread (it moves the author's read position to it)."""
    key = request.headers.get("idempotency-key")
    message_id = body.message_id or (message_id_for(scope_of(principal), key) if key else uuid.uuid4())
    service, caller, cid = service_of(request), caller_of(principal), correlation_id(request)

    def command(in_save: InSave | None) -> WriteOutcome[PostedMessage]:
        return service.post_message(order_id, caller, message_id, body.body, cid, in_save)

    def render(out: WriteOutcome[PostedMessage]) -> BaseModel:
        return MessageWriteResult(**_base(out), message_id=out.value.message_id, seq=out.value.seq)

    return await _write_one(request, principal, _payload(body), 201, command, render)


@router.post(
    "/orders/{order_id}/dispute",
    status_code=201,
    response_model=DisputeWriteResult,
    responses=NOT_FOUND | {409: {"description": "A dispute is already open"}},
)
async def open_dispute(
    order_id: OrderId, body: OpenDisputeIn, request: Request, principal: CurrentPrincipal
) -> Response:
    """Open a dispute with a reason."""
    service, caller, cid = service_of(request), caller_of(principal), correlation_id(request)

    def command(in_save: InSave | None) -> WriteOutcome[int]:
        return service.open_dispute(order_id, caller, body.reason, cid, in_save)

    return await _write_one(request, principal, _payload(body), 201, command, _dispute_result)


@router.post(
    "/orders/{order_id}/dispute/close",
    response_model=DisputeWriteResult,
    responses=NOT_FOUND | {409: {"description": "No dispute is open"}},
)
async def close_dispute(
    order_id: OrderId, request: Request, principal: CurrentPrincipal, body: EmptyIn | None = None
) -> Response:
    """Close the open dispute."""
    service, caller, cid = service_of(request), caller_of(principal), correlation_id(request)

    def command(in_save: InSave | None) -> WriteOutcome[int]:
        return service.close_dispute(order_id, caller, cid, in_save)

    return await _write_one(request, principal, _payload(body), 200, command, _dispute_result)


@router.post("/orders/{order_id}/read", response_model=ReadWriteResult, responses=NOT_FOUND)
async def mark_read(
    order_id: OrderId, request: Request, principal: CurrentPrincipal, body: EmptyIn | None = None
) -> Response:
    """Mark the thread read for the caller's party."""
    service, caller, cid = service_of(request), caller_of(principal), correlation_id(request)

    def command(in_save: InSave | None) -> WriteOutcome[int]:
        return service.mark_read(order_id, caller, cid, in_save)

    return await _write_one(request, principal, _payload(body), 200, command, _read_result)


@router.post("/orders/{order_id}/unread", response_model=ReadWriteResult, responses=NOT_FOUND)
async def mark_unread(
    order_id: OrderId, request: Request, principal: CurrentPrincipal, body: EmptyIn | None = None
) -> Response:
    """Make the other side's latest message unread again for the caller's party."""
    service, caller, cid = service_of(request), caller_of(principal), correlation_id(request)

    def command(in_save: InSave | None) -> WriteOutcome[int]:
        return service.mark_unread(order_id, caller, cid, in_save)

    return await _write_one(request, principal, _payload(body), 200, command, _read_result)


async def _bulk(request: Request, principal: Principal, body: SelectionIn, unread: bool) -> Response:
    service, caller, cid = service_of(request), caller_of(principal), correlation_id(request)

    def run() -> BulkWriteResult:
        if body.order_ids is not None:
            order_ids = list(dict.fromkeys(body.order_ids))
            service.check_visible(order_ids, caller)
        else:
            order_ids = service.visible_order_ids(caller)
        act = service.mark_unread if unread else service.mark_read
        results = []
        for order_id in order_ids:
            out = act(order_id, caller, cid)
            results.append(ReadWriteResult(**_base(out), read_up_to=out.value))
        position = max((r.position for r in results), default=service.last_position())
        return BulkWriteResult(results=results, position=position)

    return await _write(request, principal, _payload(body), lambda _: Answer(200, run().model_dump_json()))


@router.post("/threads/read", response_model=BulkWriteResult, responses=NOT_FOUND)
async def mark_threads_read(body: SelectionIn, request: Request, principal: CurrentPrincipal) -> Response:
    """Mark the selected threads (or all the caller may see) read."""
    return await _bulk(request, principal, body, unread=False)


@router.post("/threads/unread", response_model=BulkWriteResult, responses=NOT_FOUND)
async def mark_threads_unread(body: SelectionIn, request: Request, principal: CurrentPrincipal) -> Response:
    """Mark the selected threads (or all the caller may see) unread."""
    return await _bulk(request, principal, body, unread=True)


@router.get("/orders/{order_id}/history", response_model=HistoryOut, responses=NOT_FOUND)
async def history(order_id: OrderId, request: Request, principal: CurrentPrincipal) -> HistoryOut:
    """Every event of the thread, oldest first: who wrote, read, opened or closed what, when."""
    service, caller = service_of(request), caller_of(principal)

    def run() -> HistoryOut:
        mapper = service.store.mapper
        notes = service.history(order_id, caller)
        return HistoryOut(events=[notification_to_contract(mapper, n).model_dump(mode="json") for n in notes])

    return await in_worker(run)


@router.get("/events", response_model=EventsOut)
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
