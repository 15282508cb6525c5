"""`python -m ordertalk_devstack run` (what `make run` starts) on other ports: its UI's origin is allowed, and when
it is SIGKILLed no server or service it started survives; on Ctrl-C it stops everything within 5 s."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support.polling import wait_for
from tests.support.survivors import identity, survivors

from ordertalk_devstack.free_ports import free_port
from ordertalk_devstack.ports import WHAT, variable
from ordertalk_devstack.processes import descendants, python_argv

pytestmark = pytest.mark.e2e


@dataclass
class Devstack:
    """A running devstack process, its ports and its output."""

    popen: subprocess.Popen[bytes]
    ports: dict[str, int]
    output: Path

    def children(self) -> set[tuple[int, int]]:
        """(pid, start time) of every process it started, and theirs."""
        return {found for stat in descendants(self.popen.pid) if (found := identity(stat.pid))}


@pytest.fixture
def devstack(tmp_path: Path) -> Iterator[Devstack]:
    ports = {name: free_port() for name in WHAT}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVSTACK_")}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGO_URL", "SMTP_HOST", "CORS_ORIGINS", "ADMIN_BASE_URL"):
        env.pop(name, None)
    env |= {variable(name): str(port) for name, port in ports.items()}
    output = tmp_path / "devstack.out"
    with output.open("wb") as out:
        popen = subprocess.Popen(
            python_argv("-m", "ordertalk_devstack", "run", "--var", str(tmp_path / "var")),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = Devstack(popen, ports, output)
    started: set[tuple[int, int]] = set()
    try:
        up = b"Ctrl-C stops everything"
        wait_for(lambda: popen.poll() is not None or up in output.read_bytes(), 180, "the stack to start")
        assert popen.poll() is None, output.read_text()
        started = stack.children()
        yield stack
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
        for pid, _ in survivors(started | stack.children()):  # only what this test started
            os.kill(pid, signal.SIGKILL)


def test_a_stack_on_other_ports_accepts_its_own_ui_and_leaves_nothing_behind_when_killed(devstack: Devstack) -> None:
    web = f"http://127.0.0.1:{devstack.ports['web']}"
    for api in ("messaging", "projections", "notifier"):
        answer = httpx.options(
            f"http://127.0.0.1:{devstack.ports[api]}/healthz",
            headers={"Origin": web, "Access-Control-Request-Method": "GET"},
            timeout=5,
        )
        assert answer.status_code == 200, (api, answer.text)
        assert answer.headers["access-control-allow-origin"] == web
    assert httpx.get(f"{web}/", timeout=5).status_code == 200
    children = devstack.children()
    names = {Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].rsplit(b"/", 1)[-1] for pid, _ in children}
    assert len(children) >= 8, names  # broker, MongoDB, SMTP catcher, four services, the guardian
    devstack.popen.kill()
    devstack.popen.wait(5)
    wait_for(lambda: not survivors(children), 10, f"all {len(children)} children to end after the SIGKILL")


def test_ctrl_c_stops_everything_within_5_seconds(devstack: Devstack) -> None:
    children = devstack.children()
    began = time.monotonic()
    devstack.popen.send_signal(signal.SIGINT)
    devstack.popen.wait(30)
    took = time.monotonic() - began
    assert not survivors(children)
    assert took <= 5.0, f"the stop took {took:.1f} s"
    assert devstack.popen.returncode == 0, devstack.output.read_text()[-2000:]
