"""Log lines written through a buffer (INFO within the interval, WARNING at once) and correlation ids from headers."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.polling import wait_for

from ordertalk_runtime.observability import (
    BufferedLinesHandler,
    JsonFormatter,
    correlation_id_of,
    new_correlation_id,
)


def file_stream(path: Path) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedWriter(io.FileIO(path, "w"), 1 << 16), encoding="utf-8")


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "service.log"


def logger_on(handler: logging.Handler, name: str) -> logging.Logger:
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


@pytest.fixture
def slow_flushing(log_file: Path) -> Iterator[tuple[logging.Logger, BufferedLinesHandler]]:
    handler = BufferedLinesHandler(file_stream(log_file), interval=3600.0)
    yield logger_on(handler, "test.buffered.slow"), handler
    handler.close()


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_info_lines_wait_in_the_buffer_and_a_warning_writes_them_all(
    slow_flushing: tuple[logging.Logger, BufferedLinesHandler], log_file: Path
) -> None:
    log, _ = slow_flushing
    log.info("POST /v1/orders/1/messages 201 3.1ms")
    log.info("POST /v1/orders/2/messages 201 2.9ms")
    assert log_file.read_text() == ""  # no system call per line
    log.warning("relay could not publish")
    assert [line["msg"] for line in lines(log_file)] == [
        "POST /v1/orders/1/messages 201 3.1ms",
        "POST /v1/orders/2/messages 201 2.9ms",
        "relay could not publish",
    ]


def test_closing_the_handler_writes_what_waits(
    slow_flushing: tuple[logging.Logger, BufferedLinesHandler], log_file: Path
) -> None:
    log, handler = slow_flushing
    log.info("last words")
    handler.close()  # as logging.shutdown does at exit
    assert [line["msg"] for line in lines(log_file)] == ["last words"]


def test_after_close_every_line_is_written_at_once(
    slow_flushing: tuple[logging.Logger, BufferedLinesHandler], log_file: Path
) -> None:
    log, handler = slow_flushing
    handler.close()  # what logging.config.dictConfig does to the handlers it finds
    log.info("still logging")
    assert [line["msg"] for line in lines(log_file)] == ["still logging"]


def test_info_lines_reach_the_file_within_the_interval(log_file: Path) -> None:
    handler = BufferedLinesHandler(file_stream(log_file), interval=0.05)
    try:
        logger_on(handler, "test.buffered.fast").info("served")
        wait_for(lambda: log_file.read_text().endswith("\n"), timeout=5, what="the flushing thread")
        assert [line["msg"] for line in lines(log_file)] == ["served"]
    finally:
        handler.close()


def test_the_callers_correlation_id_is_taken_stripped_and_cut() -> None:
    assert correlation_id_of([(b"X-Correlation-ID", b"  corr-7 ")]) == "corr-7"
    assert correlation_id_of([(b"x-request-id", b"req-1"), (b"x-correlation-id", b"corr-1")]) == "corr-1"
    assert correlation_id_of([(b"x-request-id", b"req-1"), (b"x-correlation-id", b"  ")]) == "req-1"
    assert correlation_id_of([(b"x-correlation-id", b"x" * 500)]) == "x" * 200
    assert correlation_id_of([(b"x-correlation-id", "caf\u00e9".encode("latin-1"))]) == "caf\u00e9"  # not UTF-8


def test_without_one_a_new_correlation_id_is_made() -> None:
    made = {correlation_id_of([(b"accept", b"*/*")]) for _ in range(1000)} | {new_correlation_id()}
    assert len(made) == 1001
    assert all(re.fullmatch(r"[0-9a-f]{32}", cid) for cid in made)
