"""`ordertalk-ops`: consumer lag, dead letters, thread history; replay and rebuild via the services.

Settings as the services take them (KAFKA_*, MONGO_*, AUTH_*, MESSAGING_URL …); a variable not set is
taken from the running local stack (var/stack.env, written by `make run`), else `make run`'s default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_ops.dead_letters import read_dead_letters, redrive
from ordertalk_ops.lag import consumer_lag
from ordertalk_ops.stack_settings import Setting, StackFile, apply, shown
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.kafka import KafkaSettings


def _default_groups() -> str:
    """The services' consumer groups, named as the services name them (their variables or defaults)."""
    return ",".join(
        os.environ.get(variable, default)
        for variable, default in (
            ("ORDERS_CONSUMER_GROUP", "ordertalk-messaging-orders"),
            ("PROJECTIONS_GROUP", "ordertalk-projections"),
            ("NOTIFIER_CONSUMER_GROUP", "ordertalk-notifier"),
        )
    )


def _print_settings(settings: list[Setting], stack: StackFile | None) -> int:
    print(f"stack settings: {stack.path} (pid {stack.pid})" if stack else "stack settings: none found")
    for setting in settings:
        print(f"{shown(setting):<60} {setting.source}")
    return 0


def _print_lag(groups: list[str] | None) -> int:
    names = groups or os.environ.get("OPS_CONSUMER_GROUPS", _default_groups()).split(",")
    rows = asyncio.run(consumer_lag(KafkaSettings(), names, list(ALL_TOPICS)))
    print(f"{'group':<28} {'topic':<32} {'part':>4} {'committed':>10} {'end':>10} {'lag':>8}")
    for row in rows:
        committed = "-" if row.committed is None else str(row.committed)
        print(f"{row.group:<28} {row.topic:<32} {row.partition:>4} {committed:>10} {row.end:>10} {row.lag:>8}")
    print(f"total lag: {sum(r.lag for r in rows)}")
    return 0


async def _dead_letters(command: str, selected: set[str], limit: int) -> int:
    settings = KafkaSettings()
    letters = [letter async for letter in read_dead_letters(settings)]
    if command == "list":
        for letter in letters[-limit:]:
            where = f"{letter.partition}:{letter.offset}"
            group = letter.headers.get("dlq.consumer.group", "")
            print(f"{where:>10}  {group:<20} {letter.source_topic:<32} {letter.reason[:120]}")
        print(f"{len(letters)} dead letters")
        return 0
    chosen = [x for x in letters if not selected or f"{x.partition}:{x.offset}" in selected]
    sent = await redrive(settings, chosen)
    print(f"re-drove {sent} message(s) to their source topics")
    return 0


def _history(order_id: str) -> int:
    codec = TokenCodec(AuthSettings())
    token = codec.mint(Principal("admin", "ops", "Operator"), ttl_seconds=300)
    base = os.environ["MESSAGING_URL"]  # always set by stack_settings.apply
    response = httpx.get(
        f"{base}/v1/orders/{order_id}/history", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    if response.status_code != 200:
        print(f"{response.status_code}: {response.text}", file=sys.stderr)
        return 1
    for event in response.json()["events"]:
        actor = event.get("actor", {})
        detail = {k: v for k, v in event.items() if k in ("body", "reason", "party", "read_up_to", "dispute_no", "seq")}
        print(
            f"v{event['thread_version']:<4} {event['occurred_at']}  {event['event_type']:<20}"
            f" {actor.get('display_name', '')} ({actor.get('role', '')})  {json.dumps(detail, ensure_ascii=False)}"
        )
    return 0


def _delegate(module: str, args: list[str]) -> int:
    return subprocess.run([sys.executable, "-m", module, *args], check=False).returncode


def main() -> None:
    """Parse the command line and run one operator command."""
    parser = argparse.ArgumentParser(prog="ordertalk-ops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    lag = sub.add_parser("lag", help="consumer lag per group and partition")
    lag.add_argument("--group", action="append", help="only this group (repeatable)")
    dlq = sub.add_parser("dead-letters", help="list or re-drive the dead-letter topic")
    dlq.add_argument("action", choices=["list", "redrive"])
    dlq.add_argument("--only", action="append", default=[], help="PARTITION:OFFSET to re-drive (repeatable)")
    dlq.add_argument("--limit", type=int, default=50)
    history = sub.add_parser("history", help="a thread's full event history (B1)")
    history.add_argument("order_id")
    sub.add_parser("settings", help="the settings in use and where each came from (secrets masked)")
    sub.add_parser("replay", help="re-publish stored events (messaging service)", add_help=False)
    sub.add_parser("rebuild", help="rebuild read models (projections service)", add_help=False)
    sub.add_parser(
        "rebuild-notifier", help="rebuild the notifier's thread states and bell counts from the store", add_help=False
    )
    recover = sub.add_parser("recover", help="after a broker lost its topics: topics, groups, re-publish")
    recover.add_argument("--republish", action="store_true", help="re-publish the store from here too")
    recover.add_argument("--drop-orders", action="store_true", help="re-create a wrong orders topic with records")
    recover.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the re-publishing")
    args, rest = parser.parse_known_args()
    settings, stack, note = apply(os.environ, Path.cwd())
    if note:
        print(f"note: {note}", file=sys.stderr)
    if args.command == "settings":
        code = _print_settings(settings, stack)
    elif args.command == "lag":
        code = _print_lag(args.group)
    elif args.command == "dead-letters":
        code = asyncio.run(_dead_letters(args.action, set(args.only), args.limit))
    elif args.command == "history":
        code = _history(args.order_id)
    elif args.command == "recover":
        from ordertalk_ops.recover import recover as run_recovery

        code = run_recovery(drop_orders=args.drop_orders, republish=args.republish, wait_seconds=args.wait)
    elif args.command == "replay":
        code = _delegate("ordertalk_messaging", ["replay", *rest])
    elif args.command == "rebuild-notifier":
        code = _delegate("ordertalk_notifier.rebuild", rest)
    else:
        code = _delegate("ordertalk_projections", ["rebuild", *rest])
    raise SystemExit(code)


if __name__ == "__main__":
    main()
