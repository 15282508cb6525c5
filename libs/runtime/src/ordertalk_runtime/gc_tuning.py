"""The garbage collector's thresholds for a service process (GC_THRESHOLDS)."""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping

DEFAULT_GC_THRESHOLDS = (10_000, 10, 10)


class BadThresholds(ValueError):
    """GC_THRESHOLDS is not three non-negative integers."""


def parse_thresholds(text: str) -> tuple[int, int, int]:
    """``"10000,10,10"`` -> (10000, 10, 10)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise BadThresholds(f"GC_THRESHOLDS must be three non-negative integers like 10000,10,10, not {text!r}")
    first, second, third = (int(p) for p in parts)
    return first, second, third


def tune_gc(environ: Mapping[str, str] = os.environ) -> tuple[int, int, int]:
    """Collect the young generation every 10,000 allocations instead of CPython's 700 (GC_THRESHOLDS overrides).

    A server keeps requests in flight, so every young collection finds their objects alive and
    promotes them to the oldest generation, where they soon die. The oldest generation then fills so
    fast that full collections, which walk every object of the process and hold the GIL throughout,
    run several times a second (30-50 ms each in the write benchmark: the p99 request latency). Ten
    times fewer young collections promote ten times fewer of them; cyclic garbage is still collected.
    """
    text = environ.get("GC_THRESHOLDS", "").strip()
    thresholds = parse_thresholds(text) if text else DEFAULT_GC_THRESHOLDS
    gc.set_threshold(*thresholds)
    return thresholds


def freeze_startup_objects() -> int:
    """Move every object alive once a service has started (modules, classes, the app, its clients) out of the
    collector's reach (``gc.freeze``); answer how many.

    They live as long as the process, yet each full collection walks them all again: with FastStream and its
    dependencies imported, a service holds ~100,000 such objects, a full collection of them takes ~40 ms, and
    under load one runs about every second (the bell alerts' p99 and max in the notifier benchmark). Frozen,
    a full collection walks only what was made since. Call it once, when start-up is done.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
