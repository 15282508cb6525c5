"""The web service's edge over a real socket: the dev sign-in's body is size-limited, its callers rate-limited."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.raw_http import megabytes, raw_post

from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv

HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m ordertalk_web serve`` with the dev sign-in on (the default limits)."""
    var: Path = tmp_path_factory.mktemp("web-edge")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ) | {"WEB_DEV_SIGNIN": "true"}
    for name in ("HTTP_MAX_BODY_BYTES", "RATE_LIMIT_ANONYMOUS_PER_SECOND", "RATE_LIMIT_ANONYMOUS_BURST"):
        env.pop(name, None)
    argv = python_argv("-m", "ordertalk_web", "serve", "--host", "127.0.0.1", "--port", str(port))
    proc = ManagedProcess("web-edge", argv, var / "web.log", env=env)

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    proc.start(ready, timeout=60)
    try:
        yield url
    finally:
        proc.stop()


def test_a_100_mb_sign_in_body_is_413_at_once(web: str) -> None:
    head = {"Content-Type": "application/json", "Content-Length": str(HUNDRED_MB)}
    status, headers, body, elapsed = raw_post(web, "/dev/token", head, megabytes(HUNDRED_MB))
    assert (status, headers["content-type"]) == (413, "application/problem+json")
    assert json.loads(body)["status"] == 413
    assert elapsed < 2.0


def test_sign_ins_from_one_address_are_rate_limited(web: str) -> None:
    statuses: list[int] = []
    with httpx.Client(base_url=web) as client:
        for _ in range(100):
            answer = client.post("/dev/token", json={"subject": "admin-1"})
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                assert int(answer.headers["retry-after"]) >= 1
                assert answer.headers["content-type"] == "application/problem+json"
                break
    assert statuses[0] == 200 and statuses[-1] == 429
