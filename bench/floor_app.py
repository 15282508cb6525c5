"""The HTTP floor of the write benchmark: the post route's shape (path, JSON body, bearer header) doing nothing.

Served by uvicorn on uvloop and httptools, as the messaging service is, so that the benchmark can
print what the framework and the load client alone cost on this machine in the same run.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict

app = FastAPI()
ANSWER = b'{"order_id":"x","thread_version":2,"position":1,"seq":1}'


class PostIn(BaseModel):
    """The post body, validated as the service validates it."""

    model_config = ConfigDict(extra="forbid")
    body: str
    message_id: UUID | None = None


async def bearer(request: Request) -> str:
    """The Authorization header (not verified: the floor measures the framework only)."""
    return request.headers.get("authorization", "")


@app.post("/v1/orders/{order_id}/messages", status_code=201)
async def post_message(order_id: str, body: PostIn, token: Annotated[str, Depends(bearer)]) -> Response:
    """Answer 201 at once."""
    return Response(ANSWER, status_code=201, media_type="application/json")


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    """Ready as soon as it serves."""
    return {"status": "ok"}
