"""The workers' supervisor: each worker's own static-membership id, and only its own children counted as dead."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ordertalk_messaging.entrypoints import workers


def test_each_worker_gets_an_instance_id_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_GROUP_INSTANCE_ID", "pod-7")
    first, second = workers.worker_env(1), workers.worker_env(2)
    assert (first["KAFKA_GROUP_INSTANCE_ID"], second["KAFKA_GROUP_INSTANCE_ID"]) == ("pod-7-worker1", "pod-7-worker2")
    assert first["RELAY_ENABLED"] == second["RELAY_ENABLED"] == "false"


def test_a_child_that_is_not_ours_is_passed_over() -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "pass"])
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(3)"])
    os.waitid(os.P_PID, stranger.pid, os.WEXITED | os.WNOWAIT)  # it has exited, unreaped, before ours
    stranger_pid = stranger.pid
    pid, status = workers._first_exit({ours.pid})
    assert pid == ours.pid and pid != stranger_pid
    assert os.waitstatus_to_exitcode(status) == 3
