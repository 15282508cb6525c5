"""Where ordertalk-ops takes its settings from: the environment, the running stack's file, `make run`'s defaults."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from ordertalk_ops.stack_settings import Setting, load_stack_file, parse, resolve, shown

from ordertalk_devstack.settings_file import (
    FILE_NAME,
    remove_settings_file,
    service_settings,
    write_settings_file,
)


def test_the_stack_file_the_devstack_writes_is_read_back_as_written_and_only_its_owner_reads_it(
    tmp_path: Path,
) -> None:
    values = {"AUTH_JWT_SECRET": "s3cr3t 'quoted' $HOME", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9192", "EMPTY": ""}
    path = write_settings_file(tmp_path, values, pid=4242)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = parse(path, path.read_text())
    assert (found.pid, found.values) == (4242, values)


def test_the_stack_file_is_a_shell_file_too(tmp_path: Path) -> None:
    path = write_settings_file(tmp_path, {"MESSAGING_URL": "http://127.0.0.1:8101", "X_ODD": "a b'c"})
    shell = subprocess.run(
        ["sh", "-c", f'set -a; . "{path}"; printf "%s|%s" "$MESSAGING_URL" "$X_ODD"'], capture_output=True, text=True
    )
    assert shell.stdout == "http://127.0.0.1:8101|a b'c"


def test_only_the_services_settings_are_written_never_the_rest_of_the_shell() -> None:
    services = {"KAFKA_SASL_PASSWORD": "p", "MESSAGING_URL": "u", "WEB_URL": "w"}
    env = services | {"AWS_SECRET_ACCESS_KEY": "no", "PATH": "/x"}
    assert service_settings(env, derived=["WEB_URL"]) == services


def test_the_file_is_removed_only_by_the_stack_that_wrote_it(tmp_path: Path) -> None:
    write_settings_file(tmp_path, {"A": "1"}, pid=os.getpid() + 1)
    remove_settings_file(tmp_path)
    assert (tmp_path / FILE_NAME).exists()
    remove_settings_file(tmp_path, pid=os.getpid() + 1)
    assert not (tmp_path / FILE_NAME).exists()


def values(settings: list[Setting]) -> dict[str, tuple[str, str]]:
    """Settings as key -> (value, source)."""
    return {s.key: (s.value, s.source) for s in settings}


def test_the_stack_file_fills_what_the_environment_does_not_set() -> None:
    stack = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9192", "KAFKA_ENABLE_IDEMPOTENCE": "false", "MESSAGING_URL": "m"}
    got = values(resolve({"PATH": "/bin"}, stack))
    assert got["KAFKA_BOOTSTRAP_SERVERS"] == ("127.0.0.1:9192", "stack")
    assert got["KAFKA_ENABLE_IDEMPOTENCE"] == ("false", "stack")
    assert got["MESSAGING_URL"] == ("m", "stack")
    assert got["MONGO_URL"] == ("mongodb://127.0.0.1:27017", "default")
    assert "PATH" not in got


def test_an_explicit_variable_wins_and_takes_its_whole_group_from_the_environment() -> None:
    environ = {"KAFKA_BOOTSTRAP_SERVERS": "kafka.prod:9093", "MESSAGING_URL": "https://messaging.prod"}
    stack = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9192", "KAFKA_ENABLE_IDEMPOTENCE": "false", "MESSAGING_URL": "m"}
    for file in (stack, None):
        got = values(resolve(environ, file))
        assert got["KAFKA_BOOTSTRAP_SERVERS"] == ("kafka.prod:9093", "environment")
        assert "KAFKA_ENABLE_IDEMPOTENCE" not in got  # the real broker's idempotent producer stays on
        assert got["MESSAGING_URL"] == ("https://messaging.prod", "environment")


def test_without_a_stack_file_the_defaults_are_make_runs() -> None:
    got = values(resolve({}, None))
    assert got["KAFKA_BOOTSTRAP_SERVERS"] == ("127.0.0.1:9092", "default")
    assert got["KAFKA_ENABLE_IDEMPOTENCE"] == ("false", "default")
    assert got["MESSAGING_URL"] == ("http://127.0.0.1:8001", "default")


def test_a_file_left_by_a_stack_that_is_gone_is_ignored_with_a_note(tmp_path: Path) -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    write_settings_file(tmp_path / "var", {"MESSAGING_URL": "http://127.0.0.1:8101"}, pid=ended.pid)
    found, note = load_stack_file({}, tmp_path)
    assert found is None and note is not None and "no longer running" in note
    write_settings_file(tmp_path / "var", {"MESSAGING_URL": "http://127.0.0.1:8101"})  # this process: running
    found, note = load_stack_file({}, tmp_path)
    assert found is not None and found.values["MESSAGING_URL"] == "http://127.0.0.1:8101" and note is None


def test_an_explicit_file_path_is_the_only_one_looked_at(tmp_path: Path) -> None:
    write_settings_file(tmp_path / "var", {"MESSAGING_URL": "here"})
    write_settings_file(tmp_path / "elsewhere", {"MESSAGING_URL": "there"})
    found, _ = load_stack_file({"ORDERTALK_STACK_ENV": str(tmp_path / "elsewhere" / FILE_NAME)}, tmp_path)
    assert found is not None and found.values["MESSAGING_URL"] == "there"


def test_secrets_and_credentials_in_urls_are_never_shown() -> None:
    assert shown(Setting("AUTH_JWT_SECRET", "abc", "stack")) == "AUTH_JWT_SECRET=********"
    assert shown(Setting("KAFKA_SASL_PASSWORD", "abc", "environment")) == "KAFKA_SASL_PASSWORD=********"
    assert shown(Setting("MONGO_URL", "mongodb://ops:hunter2@db:27017/x", "environment")) == (
        "MONGO_URL=mongodb://ops:********@db:27017/x"
    )
    assert shown(Setting("MESSAGING_URL", "http://127.0.0.1:8001", "stack")) == "MESSAGING_URL=http://127.0.0.1:8001"
