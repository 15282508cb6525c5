"""A real SMTP server (aiosmtpd) that keeps every received e-mail as an .eml file."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    """aiosmtpd handler: writes each message atomically as ``<ns>-<uuid>.eml``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        name = f"{time.time_ns()}-{uuid.uuid4().hex}"
        tmp = self.directory / f".{name}.tmp"
        header = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        tmp.write_bytes(header.encode() + envelope.original_content)
        os.replace(tmp, self.directory / f"{name}.eml")
        return "250 Message accepted for delivery"


def read_mailbox(directory: Path) -> list[EmailMessage]:
    """Every e-mail stored in ``directory``, oldest first."""
    if not directory.exists():
        return []
    files = sorted(directory.glob("*.eml"))
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def main() -> None:
    """Run the catcher until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="mailcatcher")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = Controller(MaildirHandler(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP catcher on {args.host}:{args.port}, mail kept in {args.dir}", flush=True)
    stop = asyncio.Event()

    async def wait() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
