"""`make run`: start the local stack, print URLs and dev tokens, stop on Ctrl-C within 5 s (at once on a second)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import time
from pathlib import Path
from types import FrameType

from ordertalk_devstack.ports import StackPorts
from ordertalk_devstack.processes import python_argv, run_child
from ordertalk_devstack.stack import Stack, running_stack

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal was closed


def _say(text: str) -> None:
    """Print, unless the terminal is gone (after SIGHUP a write fails, and must not break off the stop)."""
    with contextlib.suppress(OSError):
        print(text, flush=True)


def _dev_tokens(env: dict[str, str]) -> dict[str, str]:
    from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec

    codec = TokenCodec(AuthSettings(jwt_secret=env["AUTH_JWT_SECRET"]))
    return {
        "admin": codec.mint(Principal("admin", "admin-1", "Admin Admin"), ttl_seconds=7 * 86400),
        "customer": codec.mint(
            Principal("customer", "customer-1", "Jane Doe", "jane@example.com"), ttl_seconds=7 * 86400
        ),
    }


class Stopping:
    """What the stop signals asked for: a stop (first signal), a hurried one (second), or nothing yet."""

    def __init__(self) -> None:
        self.requests = 0
        self.started = False  # until everything is up, the first signal interrupts the start-up

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requests += 1
        if not self.started:
            self.started = True  # later signals hurry the stop, never interrupt it
            raise KeyboardInterrupt
        if self.requests == 2:
            _say("stopping at once…")

    def stop(self) -> bool:
        """Whether a stop was asked for."""
        return self.requests >= 1

    def hurry(self) -> bool:
        """Whether a second signal asked to skip the clean stop."""
        return self.requests >= 2


def _announce(stack: Stack) -> None:
    print("\nordertalk is running:")
    print(f"  Kafka      {stack.env['KAFKA_BOOTSTRAP_SERVERS']}")
    print(f"  MongoDB    {stack.env['MONGO_URL']}")
    print(f"  SMTP       {stack.env['SMTP_HOST']}:{stack.env['SMTP_PORT']}  (mail kept in {stack.var / 'mail'})")
    for name in stack.services:
        print(f"  {name:<10} {stack.url(name)}   (OpenAPI: {stack.url(name)}/docs)")
    for role, token in _dev_tokens(stack.env).items():
        print(f"\n  dev {role} token:\n  {token}")
    print(f"\nlogs in {stack.var / 'log'}; Ctrl-C stops everything.", flush=True)


def main() -> None:
    """Run until interrupted."""
    parser = argparse.ArgumentParser(prog="ordertalk-devstack")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--var", type=Path, default=Path("var"))
    args = parser.parse_args()
    stopping = Stopping()
    for sig in STOP_SIGNALS:
        signal.signal(sig, stopping)
    try:
        with running_stack(args.var.resolve(), StackPorts.from_env(), hurry=stopping.hurry) as stack:
            if "messaging" in stack.services:
                run_child(python_argv("-m", "ordertalk_messaging", "demo-orders"), env=stack.env)
            stopping.started = True
            _announce(stack)
            while not stopping.stop():
                for name, proc in stack.services.items():
                    if not proc.alive():
                        _say(f"{name} stopped unexpectedly; see {proc.log_path}")
                        stopping.requests = max(stopping.requests, 1)
                time.sleep(0.5)
            _say("stopping…")
    except KeyboardInterrupt:
        _say("start-up interrupted; stopped.")


if __name__ == "__main__":
    main()
