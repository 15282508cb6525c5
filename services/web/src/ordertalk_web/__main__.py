"""Command line: ``python -m ordertalk_web serve --host H --port P``."""

from __future__ import annotations

import argparse

import uvicorn

from ordertalk_runtime.gc_tuning import tune_gc
from ordertalk_runtime.observability import configure_logging
from ordertalk_web.bootstrap import build_app


def main(argv: list[str] | None = None) -> None:
    """Parse the command and run it."""
    parser = argparse.ArgumentParser(prog="ordertalk_web")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the admin panel and storefront pages")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.command == "serve":
        configure_logging("web")
        tune_gc()
        uvicorn.run(build_app(), host=args.host, port=args.port, log_config=None, log_level="info")


if __name__ == "__main__":
    main()
