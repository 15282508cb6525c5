"""The README's operators' transcript: its `$` commands, what each prints, and how printed lines are matched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Replay, rebuild and other operations"
ANYTHING = "…"


@dataclass(frozen=True)
class Example:
    """One `$` line of the transcript and the lines the README shows under it."""

    command: str
    expected: tuple[str, ...]


def section(text: str, heading: str = SECTION) -> str:
    """Pure: the text of one `## ` section (up to the next one)."""
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def examples(text: str) -> list[Example]:
    """Pure: every `$` command of the ```console blocks in ``text``, with the output lines shown under it."""
    found: list[Example] = []
    for block in re.findall(r"^```console\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        command: str | None = None
        lines: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    found.append(Example(command, tuple(lines)))
                command, lines = line[2:].strip(), []
            elif command is not None and line.strip():
                lines.append(line)
        if command is not None:
            found.append(Example(command, tuple(lines)))
    return found


def _words(line: str) -> str:
    return " ".join(line.split())


def pattern(expected: str) -> re.Pattern[str]:
    """Pure: a shown line as a pattern: ``…`` is anything, runs of spaces are any spaces."""
    return re.compile(".*".join(re.escape(part) for part in _words(expected).split(ANYTHING)))


def missing_lines(expected: tuple[str, ...], printed: str) -> list[str]:
    """Pure: the shown lines not found in ``printed``, in order (a printed line matches at most one shown line)."""
    lines = [_words(line) for line in printed.splitlines()]
    at = 0
    for index, shown in enumerate(expected):
        wanted = pattern(shown)
        while at < len(lines) and not wanted.fullmatch(lines[at]):
            at += 1
        if at == len(lines):
            return list(expected[index:])
        at += 1
    return []
