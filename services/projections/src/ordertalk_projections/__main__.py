"""Command line: serve (API + workers), worker, rebuild, status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable

import uvicorn

from ordertalk_projections.adapters.kafka_source import KafkaEventLog
from ordertalk_projections.application.rebuild import RebuildConflict, Rebuilder, RebuildStopped
from ordertalk_projections.bootstrap import build_app, resources, running_workers
from ordertalk_projections.domain.generations import PROGRESS_COLLECTION, REBUILD_ID, REBUILDS_COLLECTION
from ordertalk_projections.settings import Settings
from ordertalk_runtime.gc_tuning import freeze_startup_objects, tune_gc
from ordertalk_runtime.observability import configure_logging


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def _worker(settings: Settings) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    async with resources(settings) as res, running_workers(res):
        freeze_startup_objects()
        await stop.wait()


async def _rebuild(settings: Settings, source: str, restart: bool, batch: int) -> int:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    async with resources(settings) as res:
        rebuilder = Rebuilder(res.store, KafkaEventLog(settings.kafka), res.feed, stop=stop, batch=batch)
        try:
            report = await rebuilder.run("kafka" if source == "kafka" else "store", restart=restart)
        except RebuildStopped as exc:
            print(str(exc), file=sys.stderr)
            return 130
        except RebuildConflict as exc:
            print(str(exc), file=sys.stderr)
            return 2
    print(
        f"rebuilt v{report.generation}: {report.events} events in {report.seconds:.1f}s "
        f"({report.rate:.0f} ev/s), {report.rejected} rejected"
    )
    return 0


async def _status(settings: Settings) -> None:
    async with resources(settings) as res:
        gen = await res.store.active_generation()
        progress = await res.store.db[PROGRESS_COLLECTION].find({}).to_list(None)
        rebuild = await res.store.db[REBUILDS_COLLECTION].find_one({"_id": REBUILD_ID})
        print(json.dumps({"active_generation": gen.number, "progress": progress, "rebuild": rebuild}, default=str))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command."""
    parser = argparse.ArgumentParser(prog="ordertalk_projections")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="projection API and workers in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8002)
    serve.add_argument("--no-workers", action="store_true", help="serve the API only")
    sub.add_parser("worker", help="projection workers only")
    rebuild = sub.add_parser("rebuild", help="rebuild the read models into a new generation, then switch")
    rebuild.add_argument("--source", choices=["kafka", "store"], default="kafka")
    rebuild.add_argument("--restart", action="store_true", help="discard an unfinished rebuild instead of resuming")
    rebuild.add_argument("--batch", type=int, default=5000)
    sub.add_parser("status", help="active generation, progress of each writer, last rebuild")
    args = parser.parse_args(argv)
    configure_logging("projections")
    tune_gc()
    settings = Settings()
    if args.command == "serve":
        app = build_app(settings, with_workers=not args.no_workers)
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, log_level="warning")
        return 0
    if args.command == "worker":
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:  # uvloop when installed, as uvicorn does
            runner.run(_worker(settings))
        return 0
    if args.command == "rebuild":
        return asyncio.run(_rebuild(settings, args.source, args.restart, args.batch))
    asyncio.run(_status(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
