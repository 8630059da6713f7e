"""Batches raise the collector's thresholds while they run and restore them after, also when
several batches overlap (a server plays several submissions at once) and end out of order."""

import gc

from persona_arena.server.gc_pauses import GAME_SERVER_THRESHOLDS, fewer_gc_pauses


def test_thresholds_are_raised_during_a_batch_and_restored_after():
    before = gc.get_threshold()
    with fewer_gc_pauses():
        during = gc.get_threshold()
        assert all(d >= max(g, b) for d, g, b in zip(during, GAME_SERVER_THRESHOLDS, before))
    assert gc.get_threshold() == before


def test_overlapping_batches_restore_only_when_the_last_one_ends():
    before = gc.get_threshold()
    first, second = fewer_gc_pauses(), fewer_gc_pauses()
    first.__enter__()
    raised = gc.get_threshold()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to start ends first
    assert gc.get_threshold() == raised
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_a_failing_batch_still_restores():
    before = gc.get_threshold()
    try:
        with fewer_gc_pauses():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
