"""Fewer garbage-collector pauses while many games run.

A server with hundreds of live games holds many objects (events, game states, observations)
for a whole game. With CPython's default thresholds the collector walks the older generations
so often that, in the concurrency bench, it took over a third of all CPU time. A young
generation of a few thousand objects is cheap to collect (a few ms, so the event loop never
stalls long), and the older generations, which only fill with live games' objects, are
collected rarely. Cycles are still collected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

GAME_SERVER_THRESHOLDS = (5_000, 500, 1_000)

_active = 0  # batches running now: they may overlap (a server plays several submissions)
_before: tuple[int, ...] = ()


@contextlib.contextmanager
def fewer_gc_pauses() -> Iterator[None]:
    """The first batch to start raises the thresholds; the last one to end restores them."""
    global _active, _before
    if _active == 0:
        _before = gc.get_threshold()
        gc.set_threshold(*(max(a, b) for a, b in zip(GAME_SERVER_THRESHOLDS, _before)))
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0:
            gc.set_threshold(*_before)
