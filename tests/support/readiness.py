"""A service's /readyz as the tests read it: the answer, not consuming (503 naming the consumer), ready (200)."""

from __future__ import annotations

import httpx


def readyz(url: str, timeout: float = 5.0) -> httpx.Response | None:
    """The readiness answer (None: no answer within ``timeout`` s)."""
    try:
        return httpx.get(f"{url}/readyz", timeout=timeout)
    except httpx.HTTPError:
        return None


def not_consuming(url: str) -> bool:
    """/readyz answers 503 and names the consumer."""
    r = readyz(url)
    return r is not None and r.status_code == 503 and any("not consuming" in x for x in r.json().get("reasons", []))


def ready(url: str, timeout: float = 5.0) -> bool:
    """/readyz answers 200 within ``timeout`` s."""
    r = readyz(url, timeout)
    return r is not None and r.status_code == 200


# How soon /readyz must say a consumer lost its broker: the runtime's watch asks for end offsets every 2 s and
# gives a broker 10 s to answer (aiokafka alone would wait out its 40 s request timeout), then restarts.
BROKER_LOST_SECONDS = 30.0
