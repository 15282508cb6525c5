"""schemathesis hooks of the API conformance test: each well-formed Idempotency-Key is new for its request.

A client sends a key once per distinct request; the same key with another body is refused (422) by design,
which schemathesis, drawing keys at random, would otherwise report as a valid request refused. Malformed
keys are sent as generated (their refusal is checked). Key reuse is tested in tests/messaging.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

WELL_FORMED = re.compile(r"[!-~]{1,200}")


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext,
    case: schemathesis.Case,  # type: ignore[type-arg]
    kwargs: dict[str, Any],
) -> None:
    """Replace a well-formed generated key with a fresh one."""
    headers = case.headers
    key = headers.get("Idempotency-Key") if headers else None
    if headers is not None and isinstance(key, str) and WELL_FORMED.fullmatch(key):
        headers["Idempotency-Key"] = str(uuid.uuid4())
