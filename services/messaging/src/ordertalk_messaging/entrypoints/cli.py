"""Command line: serve | relay | token | demo-orders | replay."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys

from ordertalk_messaging.settings import Settings
from ordertalk_runtime.gc_tuning import tune_gc
from ordertalk_runtime.observability import configure_logging


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from ordertalk_messaging.bootstrap import build
    from ordertalk_messaging.entrypoints.api.app import create_app
    from ordertalk_messaging.entrypoints.workers import relay_argv, supervise, worker_argv

    if args.workers > 1:
        workers = [worker_argv(args.host, args.port, args.log_level) for _ in range(args.workers)]
        return supervise(workers, relay_argv() if Settings().relay_enabled else None)
    # Named explicitly (not "auto") so /readyz and the start-up log say what really serves the requests.
    loop = "uvloop" if _installed("uvloop") else "asyncio"
    http = "httptools" if _installed("httptools") else "h11"
    app = create_app(build(Settings()))
    app.state.http_implementation = http
    logging.getLogger("ordertalk_messaging").info("serving with loop=%s http=%s", loop, http)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        loop=loop,
        http=http,
        log_config=None,  # uvicorn's records go through our JSON lines too
    )
    if not args.reuse_port:
        uvicorn.Server(config).run()
        return 0
    # Beside other serve processes on the same port: the kernel spreads new connections evenly over them.
    listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((args.host, args.port))
    uvicorn.Server(config).run(sockets=[listener])
    return 0


async def _relay_forever(settings: Settings) -> None:
    from ordertalk_contracts.topics import ALL_TOPICS
    from ordertalk_messaging.bootstrap import build
    from ordertalk_runtime.kafka import ensure_topics

    components = build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await ensure_topics(settings.kafka, ALL_TOPICS)
        await asyncio.gather(*components.relay_jobs(stop))
    finally:
        components.close()


def _token(args: argparse.Namespace) -> None:
    from ordertalk_runtime.auth import Principal, TokenCodec

    codec = TokenCodec(Settings().auth)
    print(codec.mint(Principal(role=args.role, subject=args.sub, display_name=args.name, email=args.email), args.ttl))


def _demo_orders(args: argparse.Namespace) -> None:
    from ordertalk_contracts.topics import ALL_TOPICS
    from ordertalk_messaging.entrypoints.demo import demo_orders, publish_orders
    from ordertalk_runtime.kafka import ensure_topics

    settings = Settings()
    orders = demo_orders(args.count)

    async def run() -> None:
        await ensure_topics(settings.kafka, ALL_TOPICS)
        await publish_orders(settings.kafka, orders)

    asyncio.run(run())
    for order in orders:
        print(f"{order.order_number}  order_id={order.order_id}  {order.customer.id} {order.customer.name}")


def _replay(args: argparse.Namespace) -> None:
    from ordertalk_messaging.adapters.publishing import KafkaPublisher
    from ordertalk_messaging.adapters.replay import Progress, replay_range
    from ordertalk_messaging.bootstrap import notification_source, open_store, translator

    settings = Settings()
    store = open_store(settings)
    last = args.to if args.to is not None else (store.recorder.max_notification_id() or 0)

    def report(progress: Progress) -> None:
        print(f"\r{progress.line()}", end="", file=sys.stderr, flush=True)

    async def run() -> int:
        publisher = KafkaPublisher(settings.kafka)
        return await replay_range(notification_source(store), translator(store), publisher, args.from_, last, report)

    try:
        done = asyncio.run(run())
    finally:
        store.close()
    print(f"\nre-published {done} events ({args.from_}..{last})", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the command."""
    parser = argparse.ArgumentParser(prog="python -m ordertalk_messaging")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="HTTP API, with the relay and the orders consumer")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "1")),
        help="API worker processes (default: WEB_CONCURRENCY or 1); with more than one the relay runs beside them",
    )
    serve.add_argument("--reuse-port", action="store_true", help="share the port with other serve processes")
    sub.add_parser("relay", help="only the relay: publish stored events to Kafka")
    token = sub.add_parser("token", help="mint a JWT")
    token.add_argument("--role", choices=["admin", "customer"], required=True)
    token.add_argument("--sub", required=True)
    token.add_argument("--name", default="")
    token.add_argument("--email", default=None)
    token.add_argument("--ttl", type=int, default=12 * 3600)
    demo = sub.add_parser("demo-orders", help="announce demo orders on the orders topic")
    demo.add_argument("--count", type=int, default=6)
    replay = sub.add_parser("replay", help="re-publish stored events FROM..TO (inclusive) with progress")
    replay.add_argument("--from", dest="from_", type=int, default=1)
    replay.add_argument("--to", type=int, default=None)
    args = parser.parse_args(argv)
    configure_logging("messaging")
    tune_gc()
    if args.command == "serve":
        sys.exit(_serve(args))
    elif args.command == "relay":
        if _installed("uvloop"):  # as serve runs on it: the relay's publishing costs less CPU
            import uvloop

            uvloop.run(_relay_forever(Settings()))
        else:
            asyncio.run(_relay_forever(Settings()))
    elif args.command == "token":
        _token(args)
    elif args.command == "demo-orders":
        _demo_orders(args)
    elif args.command == "replay":
        _replay(args)
