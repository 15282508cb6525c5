"""Command line: ``serve`` (API, stream, consumer and senders in one process) and ``failed`` (rejected e-mails)."""

from __future__ import annotations

import argparse
import asyncio
import json

import uvicorn

from ordertalk_notifier.api import failed_view
from ordertalk_notifier.bootstrap import build
from ordertalk_runtime.gc_tuning import tune_gc
from ordertalk_runtime.observability import configure_logging


async def _print_failed(limit: int) -> int:
    notifier = build()
    try:
        entries = await notifier.outbox.failed(limit)
    finally:
        await notifier.client.close()
    for entry in entries:
        print(json.dumps(failed_view(entry).model_dump()))
    return len(entries)


def main() -> None:
    """Parse the command line and run the command."""
    parser = argparse.ArgumentParser(prog="ordertalk-notifier")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API, the SSE stream, the consumer and the e-mail senders")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8003)
    failed = sub.add_parser("failed", help="list e-mails the mail server rejected for good (JSON lines)")
    failed.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    if args.command == "serve":
        configure_logging("notifier")
        tune_gc()
        uvicorn.run(build().app(), host=args.host, port=args.port, log_config=None, log_level="info")
    else:
        asyncio.run(_print_failed(args.limit))


if __name__ == "__main__":
    main()
