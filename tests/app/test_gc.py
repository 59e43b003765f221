"""The tracker's garbage-collector settings after start-up (tracker/app/_gc.py)."""

from __future__ import annotations

import gc
import weakref

from tracker.app._gc import GC_THRESHOLDS, settle_heap_after_startup


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_startup_garbage_is_collected_survivors_frozen_and_young_threshold_raised() -> None:
    thresholds = gc.get_threshold()
    gc.collect()
    frozen_before = gc.get_freeze_count()
    garbage = _Cycle()
    survivor = _Cycle()
    garbage_ref = weakref.ref(garbage)
    del garbage
    try:
        settle_heap_after_startup()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > frozen_before
        assert garbage_ref() is None  # start-up's cyclic garbage was collected, not frozen
        assert all(obj is not survivor for obj in gc.get_objects())  # frozen: collections skip it
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    assert any(obj is survivor for obj in gc.get_objects())
