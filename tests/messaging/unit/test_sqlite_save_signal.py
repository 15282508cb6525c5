"""The SQLite save signal: it never fails a save, a listener wakes once per burst, a second listener waits its turn."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ordertalk_messaging.adapters.store_wakeups import SqliteSaveListener, SqliteSaveSignal, sqlite_wake_address


def test_the_address_names_the_database_file(tmp_path: Path) -> None:
    assert sqlite_wake_address(tmp_path / "a.sqlite") == sqlite_wake_address(tmp_path / "." / "a.sqlite")
    assert sqlite_wake_address(tmp_path / "a.sqlite") != sqlite_wake_address(tmp_path / "b.sqlite")


def test_a_signal_with_nobody_listening_is_dropped_quietly(tmp_path: Path) -> None:
    signal = SqliteSaveSignal(sqlite_wake_address(tmp_path / "nobody.sqlite"))
    signal()
    signal.close()


async def test_listener_wakes_on_signals_and_a_second_one_waits_for_the_address(tmp_path: Path) -> None:
    address = sqlite_wake_address(tmp_path / "es.sqlite")
    wakes: list[str] = []
    woken = asyncio.Event()

    def wake(name: str) -> None:
        wakes.append(name)
        woken.set()

    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    first = SqliteSaveListener(address, lambda: wake("first"))
    second = SqliteSaveListener(address, lambda: wake("second"), max_backoff=0.05)
    first_task = asyncio.create_task(first.run(stop_first))
    await asyncio.wait_for(woken.wait(), 5)  # the wake-up for what was saved before it listened
    second_task = asyncio.create_task(second.run(stop_second))
    signal = SqliteSaveSignal(address)
    woken.clear()
    for _ in range(3):
        signal()
    await asyncio.wait_for(woken.wait(), 5)
    assert first.listening and not second.listening and "second" not in wakes

    woken.clear()
    stop_first.set()
    await first_task
    await asyncio.wait_for(woken.wait(), 5)  # the second takes the address over
    assert second.listening and wakes[-1] == "second"
    stop_second.set()
    await second_task
    signal.close()
