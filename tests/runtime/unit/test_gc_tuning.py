"""GC_THRESHOLDS: parsed strictly, applied to the process, defaulting to a young generation of 10,000."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ordertalk_runtime.gc_tuning import (
    DEFAULT_GC_THRESHOLDS,
    BadThresholds,
    freeze_startup_objects,
    parse_thresholds,
    tune_gc,
)


@pytest.fixture(autouse=True)
def thresholds_restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_default_collects_the_young_generation_every_10000_allocations() -> None:
    assert tune_gc({}) == DEFAULT_GC_THRESHOLDS == (10_000, 10, 10)
    assert gc.get_threshold() == (10_000, 10, 10)


def test_the_environment_overrides_the_default() -> None:
    assert tune_gc({"GC_THRESHOLDS": " 700, 10,10 "}) == (700, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("text", ["10000", "10000,10", "a,b,c", "-1,10,10", "1,2,3,4", "1.5,2,3"])
def test_anything_but_three_non_negative_integers_is_refused(text: str) -> None:
    with pytest.raises(BadThresholds, match="GC_THRESHOLDS must be three non-negative integers"):
        parse_thresholds(text)
    with pytest.raises(BadThresholds):
        tune_gc({"GC_THRESHOLDS": text})


def test_freezing_puts_the_objects_alive_at_start_up_out_of_the_collectors_reach() -> None:
    alive_at_start = [[n] for n in range(1000)]  # lists: objects the collector tracks
    try:
        frozen = freeze_startup_objects()
        assert frozen >= len(alive_at_start) and gc.get_freeze_count() == frozen
        walked = {id(o) for o in gc.get_objects()}  # what a full collection walks now
        assert not walked & {id(o) for o in alive_at_start}
        made_later = [-1]
        assert id(made_later) in {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()
