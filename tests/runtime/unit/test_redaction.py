"""No credential reaches a log line: uvicorn's access line with a stream token, bearer headers, JWTs anywhere."""

from __future__ import annotations

import json
import logging

from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.observability import JsonFormatter, redact

TOKEN = TokenCodec(AuthSettings()).mint(Principal("admin", "admin-1", "Admin"))


def test_uvicorn_access_lines_lose_the_stream_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/v1/stream?access_token={TOKEN}&x=1", "1.1", 200),
        None,
    )
    line = JsonFormatter("notifier").format(record)
    assert TOKEN not in line and TOKEN.split(".")[2] not in line
    assert json.loads(line)["msg"] == '127.0.0.1:5000 - "GET /v1/stream?access_token=[redacted]&x=1 HTTP/1.1" 200'


def test_bearer_headers_tickets_and_bare_jwts_are_redacted() -> None:
    assert redact(f"Authorization: Bearer {TOKEN}") == "Authorization: Bearer [redacted]"
    assert redact("GET /v1/stream?ticket=abc123") == "GET /v1/stream?ticket=[redacted]"
    assert redact(f"failed for {TOKEN}: expired") == "failed for [redacted]: expired"
    assert redact("POST /v1/orders/11/messages 201 3.1ms") == "POST /v1/orders/11/messages 201 3.1ms"


def test_a_traceback_is_redacted_too() -> None:
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    assert TOKEN not in JsonFormatter("web").format(record)
