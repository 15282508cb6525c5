"""free_port(): outside the kernel's ephemeral range (no other socket gets it first), reserved across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ordertalk_devstack.free_ports import PortReservations, band, free_port, unbound


def ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_free_ports_lie_outside_the_range_the_kernel_hands_to_other_sockets() -> None:
    low, high = ephemeral_range()
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    inside = [port for port in ports if low <= port <= high]
    assert not inside, f"{len(inside)} of 200 ports in the ephemeral range {low}-{high}, e.g. {inside[:5]}"
    assert all(unbound(port) for port in ports)


def test_the_band_leaves_out_the_ephemeral_range_and_reserved_ports() -> None:
    ports = band(ephemeral=(32768, 60999), reserved={28001, 61000})
    assert ports[0] == 28000 and 28001 not in ports
    assert 32767 in ports and 32768 not in ports and 60999 not in ports
    assert 61000 not in ports and ports[-1] == 65535
    with pytest.raises(RuntimeError):
        band(ephemeral=(1024, 65535))


CHILD = """
import sys
from pathlib import Path
from ordertalk_devstack.free_ports import PortReservations
mine = PortReservations(Path(sys.argv[1]), [int(p) for p in sys.argv[2].split(",")])
print(",".join(str(mine.reserve()) for _ in range(int(sys.argv[3]))), flush=True)
sys.stdin.read()  # hold the reservations until told to go
"""


def test_a_port_another_live_process_reserved_is_never_handed_out(tmp_path: Path) -> None:
    lock_file = tmp_path / "ports.lock"
    pool = [port for port in band() if unbound(port)][:12]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(lock_file), ",".join(map(str, pool)), "6"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        theirs = {int(port) for port in child.stdout.readline().split(",")}
        assert len(theirs) == 6
        ours = PortReservations(lock_file, pool)
        mine = {ours.reserve() for _ in range(6)}
        assert not mine & theirs
        fresh = PortReservations(lock_file, sorted(theirs))
        with pytest.raises(RuntimeError, match="no free port"):  # the other six are the other process's
            fresh.reserve()
    finally:
        child.stdin.close()
        child.wait(10)
    assert PortReservations(lock_file, sorted(theirs)).reserve() in theirs  # its reservations ended with it
