"""The projection API's edge over a real socket: it takes no writes, and says so before reading a body (405)."""

from __future__ import annotations

import json

from tests.projections.harness import RunningService, auth
from tests.support.raw_http import megabytes, raw_post

HUNDRED_MB = 100 * 1024 * 1024


def test_a_100_mb_write_is_answered_at_once_405_with_or_without_a_token(service: RunningService) -> None:
    head = {"Content-Type": "application/json", "Content-Length": str(HUNDRED_MB)}
    for extra, expected in (({}, 405), (auth(), 405)):
        status, headers, body, elapsed = raw_post(service.url, "/v1/threads", head | extra, megabytes(HUNDRED_MB))
        assert (status, headers["content-type"]) == (expected, "application/problem+json")
        assert json.loads(body)["status"] == expected
        assert elapsed < 2.0
