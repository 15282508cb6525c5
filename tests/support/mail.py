"""The SMTP catcher as the tests see it: address, mailbox, and waiting for mail."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from ordertalk_devstack.mailcatcher import read_mailbox
from ordertalk_devstack.processes import ManagedProcess


@dataclass
class MailCatcher:
    """A running SMTP catcher process and the directory it stores mail in."""

    host: str
    port: int
    maildir: Path
    process: ManagedProcess

    def messages(self) -> list[EmailMessage]:
        """Every e-mail received so far, oldest first."""
        return read_mailbox(self.maildir)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until at least ``count`` e-mails arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} e-mails, got {len(self.messages())} in {timeout}s")
