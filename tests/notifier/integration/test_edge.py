"""The notifier's edge over a real socket: a write is refused before its body is read (401, 413)."""

from __future__ import annotations

import json

from tests.notifier.harness import CODEC, NotifierProcess
from tests.support.raw_http import megabytes, raw_post

from ordertalk_runtime.auth import Principal

HUNDRED_MB = 100 * 1024 * 1024


def test_a_100_mb_write_is_answered_at_once_401_without_a_token_and_413_with_one(notifier: NotifierProcess) -> None:
    head = {"Content-Type": "application/json", "Content-Length": str(HUNDRED_MB)}
    token = {"Authorization": f"Bearer {CODEC.mint(Principal('admin', 'staff-1', 'Staff'))}"}
    for extra, expected in (({}, 401), (token, 413)):
        body_of = megabytes(HUNDRED_MB)
        status, headers, body, elapsed = raw_post(notifier.url, "/v1/stream/tickets", head | extra, body_of)
        assert (status, headers["content-type"]) == (expected, "application/problem+json")
        assert json.loads(body)["status"] == expected
        assert elapsed < 2.0
