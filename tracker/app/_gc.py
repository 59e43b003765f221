"""`settle_heap_after_startup()`: the tracker's garbage-collector settings, applied once start-up is done.

Measured under bench/broker.py (CPU time of the collector on the Trio thread): with CPython's defaults
(thresholds 700/10/10) a serving tracker runs a young collection every few hundred allocations, about 110 µs
of collector per brokered request, and every few seconds a full collection that walks the whole heap (every
module, protobuf descriptor and the admission state loaded at start-up): 35 to 70 ms during which the Trio
thread serves nobody, a pause that alone takes most of the 100 ms p99 budget at 10 concurrent consumers.
After `gc.freeze()` the objects that exist at start-up are no longer walked, and with a young threshold of
10 000 the same load costs about 10 µs of collector per request and no pause above 10 ms.

Reference counting still frees frozen objects; only a reference cycle among objects created before the
freeze is never collected, so the garbage of start-up is collected first.
"""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLDS", "settle_heap_after_startup"]

GC_THRESHOLDS = (10_000, 10, 10)
"""Young-generation threshold raised from CPython's 700 (older generations as CPython's)."""


def settle_heap_after_startup() -> None:
    """Collect start-up's garbage, freeze what survives (never walked again), raise the young threshold.
    Process-wide: only for a process that the tracker owns."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
