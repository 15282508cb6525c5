"""The guardian: SIGKILLs the process groups it was told of once the pipe from the process that started it closes.

Its standard input is a pipe whose only writer is the process that starts children (see
``ordertalk_devstack.processes``): ``+<group>`` watches a process group, ``-<group>`` forgets one that was
stopped. End of input means that process exited or died (SIGKILL included): every group still watched gets
SIGKILL, so no server or service it started, nor their own children, outlives it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys


def kill_groups(groups: set[int]) -> None:
    """SIGKILL every process of each group (gone ones are skipped)."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def main() -> None:
    """Read the watch list until end of input, then kill what is on it."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # a Ctrl-C or a closed terminal is for the process it guards
    watched: set[int] = set()
    for line in sys.stdin.buffer:
        text = line.strip().decode()
        if len(text) > 1 and text[1:].isdigit():
            (watched.add if text[0] == "+" else watched.discard)(int(text[1:]))
    kill_groups(watched)


if __name__ == "__main__":
    main()
