"""The local stack's ports: moved by DEVSTACK_* variables, checked before the installs, and followed by every URL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordertalk_devstack.free_ports import free_port
from ordertalk_devstack.ports import StackPorts
from ordertalk_devstack.stack import stack_environment

ROOT = Path(__file__).resolve().parents[2]
PORTS_SCRIPT = ROOT / "devstack" / "src" / "ordertalk_devstack" / "ports.py"
DERIVED = ("CORS_ORIGINS", "ADMIN_BASE_URL", "STOREFRONT_BASE_URL", "WEB_URL", "MESSAGING_URL", "SMTP_PORT")


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def test_the_ports_move_with_the_offset_and_each_variable() -> None:
    ports = StackPorts.from_env({"DEVSTACK_PORT_OFFSET": "100", "DEVSTACK_WEB_PORT": "18080"})
    assert ports == StackPorts(9192, 27117, 1125, 18080, 8101, 8102, 8103)
    assert StackPorts.from_env({}) == StackPorts()
    with pytest.raises(SystemExit, match="DEVSTACK_MONGO_PORT"):
        StackPorts.from_env({"DEVSTACK_MONGO_PORT": "70000"})
    with pytest.raises(SystemExit, match="not a port number"):
        StackPorts.from_env({"DEVSTACK_PORT_OFFSET": "ten"})


def test_cors_and_e_mail_links_follow_the_web_port(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (*DERIVED, "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    ports = StackPorts(19092, 37017, 11025, web=18000, messaging=18001, projections=18002, notifier=18003)
    env = stack_environment(tmp_path, ports, external=False)
    assert env["CORS_ORIGINS"].split(",") == ["http://127.0.0.1:18000", "http://localhost:18000"]
    assert env["ADMIN_BASE_URL"] == "http://127.0.0.1:18000/admin"
    assert env["STOREFRONT_BASE_URL"] == "http://127.0.0.1:18000/store"
    assert env["MESSAGING_URL"] == "http://127.0.0.1:18001"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["MONGO_URL"] == "mongodb://127.0.0.1:37017"
    monkeypatch.setenv("SMTP_PORT", "2525")  # a stray setting would point the notifier past the stand-in catcher
    assert stack_environment(tmp_path, ports, external=False)["SMTP_PORT"] == "11025"


def test_the_port_check_needs_only_the_standard_library(held_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVSTACK_")} | {
        "DEVSTACK_NOTIFIER_PORT": str(held_port)
    }
    # -I -S: no site-packages, no PYTHONPATH, no current directory: what the machine's Python has before `make setup`.
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(PORTS_SCRIPT), "check"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1, done.stderr
    assert f"port {held_port} for notifier is taken" in done.stderr
    assert "DEVSTACK_NOTIFIER_PORT" in done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_run_reports_a_taken_port_before_any_install(held_port: int, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVSTACK_")}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGO_URL", "SMTP_HOST", "MAKEFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    argv = ["make", "--no-print-directory", "run", f"VENV={venv}", f"DEVSTACK_KAFKA_PORT={held_port}"]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        output, _ = proc.communicate()
        pytest.fail(f"make run was still busy after 30 s (installing?) instead of refusing the port:\n{output[-2000:]}")
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    assert proc.returncode != 0
    assert f"port {held_port} for Kafka is taken" in output
    assert "DEVSTACK_KAFKA_PORT" in output
    assert "pip" not in output
