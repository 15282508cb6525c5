"""Which processes still run, told apart from later ones that reuse their pid (for tests that kill a tree)."""

from __future__ import annotations

from pathlib import Path


def identity(pid: int) -> tuple[int, int] | None:
    """(pid, start time) of a live process from /proc, None once it ended (a zombie counts as ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in "ZX" else (pid, int(fields[19]))  # pids are reused: the start time tells


def survivors(processes: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these processes (pid, start time) still run."""
    return {proc for proc in processes if identity(proc[0]) == proc}
