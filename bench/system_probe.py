"""What the whole-system benchmark reads besides its own requests: /proc CPU and RSS, consumer lag, the maildir."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from ordertalk_devstack.processes import descendants, process_table

LAG_METRIC = "ordertalk_consumer_lag"


@dataclass(frozen=True)
class Usage:
    """CPU seconds (user + system) and resident memory of one process and its children, at one moment."""

    cpu_seconds: float
    rss_bytes: int


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:  # it ended meanwhile
        return 0
    return 0


def usage(pid: int) -> Usage:
    """``pid`` and its descendants from /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS)."""
    table = process_table()
    if pid not in table:
        return Usage(float("nan"), 0)
    family = [table[pid], *descendants(pid, table)]
    return Usage(sum(stat.cpu_seconds for stat in family), sum(_rss(stat.pid) for stat in family))


def own_usage() -> Usage:
    """This process (the load client) alone: its children are the stack's processes."""
    times = os.times()
    return Usage(times.user + times.system, _rss(os.getpid()))


def mail_count(maildir: Path) -> int:
    """E-mails the SMTP catcher has stored (one .eml file each)."""
    if not maildir.exists():
        return 0
    with os.scandir(maildir) as entries:
        return sum(1 for entry in entries if entry.name.endswith(".eml"))


def lag_of(metrics_text: str) -> int:
    """Pure: the sum of the consumer lag gauge's samples in a Prometheus text exposition."""
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith(LAG_METRIC + "{") or line.startswith(LAG_METRIC + " "):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


async def consumer_lag(http: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, int]:
    """Each service's consumer lag (messages behind the partitions' ends) from its /metrics; -1 if unreadable."""
    lags: dict[str, int] = {}
    for name, url in urls.items():
        try:
            lags[name] = lag_of((await http.get(f"{url}/metrics")).text)
        except httpx.HTTPError:
            lags[name] = -1
    return lags


async def relay_backlog(http: httpx.AsyncClient, messaging: str) -> int:
    """Stored events the relay has not yet published (messaging /readyz: last_position - relay_position)."""
    try:
        body = (await http.get(f"{messaging}/readyz")).json()
        return int(body["last_position"]) - int(body["relay_position"])
    except (httpx.HTTPError, KeyError, ValueError, TypeError):
        return -1


def load_average() -> str:
    """The machine's load averages and core count, for the report."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
