"""`make run`: start the local stack, print URLs and dev tokens, stop cleanly on Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import subprocess
import time
from pathlib import Path
from types import FrameType

from ordertalk_devstack.processes import python_argv
from ordertalk_devstack.stack import StackPorts, running_stack


def _dev_tokens(env: dict[str, str]) -> dict[str, str]:
    from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec

    codec = TokenCodec(AuthSettings(jwt_secret=env["AUTH_JWT_SECRET"]))
    return {
        "admin": codec.mint(Principal("admin", "admin-1", "Admin Admin"), ttl_seconds=7 * 86400),
        "customer": codec.mint(
            Principal("customer", "customer-1", "Jane Doe", "jane@example.com"), ttl_seconds=7 * 86400
        ),
    }


def main() -> None:
    """Run until interrupted."""
    parser = argparse.ArgumentParser(prog="ordertalk-devstack")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--var", type=Path, default=Path("var"))
    args = parser.parse_args()
    stopping = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with running_stack(args.var.resolve(), StackPorts()) as stack:
        if "messaging" in stack.services:
            subprocess.run(python_argv("-m", "ordertalk_messaging", "demo-orders"), env=stack.env, check=False)
        print("\nordertalk is running:")
        print(f"  Kafka      {stack.env['KAFKA_BOOTSTRAP_SERVERS']}")
        print(f"  MongoDB    {stack.env['MONGO_URL']}")
        print(f"  SMTP       {stack.env['SMTP_HOST']}:{stack.env['SMTP_PORT']}  (mail kept in {stack.var / 'mail'})")
        for name in stack.services:
            print(f"  {name:<10} {stack.url(name)}   (OpenAPI: {stack.url(name)}/docs)")
        for role, token in _dev_tokens(stack.env).items():
            print(f"\n  dev {role} token:\n  {token}")
        print(f"\nlogs in {stack.var / 'log'}; Ctrl-C stops everything.", flush=True)
        while not stopping:
            for name, proc in stack.services.items():
                if not proc.alive():
                    print(f"{name} stopped unexpectedly; see {proc.log_path}", flush=True)
                    stopping = True
            time.sleep(0.5)
        print("stopping…", flush=True)


if __name__ == "__main__":
    main()
