"""Admission persistence: blocking file I/O and the byte formats (admission.md §7–§9), byte-identical to Go.

Layout:

    _seq.py              the seq scheme: every tlog/snapshot seq computation and why it is exactly-once
    _tlog_format.py      THE frame and payload layouts (structs, sizes, numpy field lists), CRC-32C
    _tlog_writer.py      buffered appends, batched write + fsync, rotation (blocking; Trio face elsewhere)
    _tlog_reader.py      scanning frames, torn tails, moving damaged files aside
    _records.py          LedgerEvent ↔ tlog record, OPERATOR_OVERRIDE params JSON
    _snapshot_format.py  snapshot bytes ↔ state maps
    _snapshot_store.py   snapshot files: names, durable writes, pruning, newest-first enumeration
    _replay.py           start-up replay: snapshot, then tlog records in seq order, then repair
    _inspect.py          the offline `trio-tracker admission inspect` summaries
    _files.py            durable-write and directory-fsync helpers
    _metrics.py          the persistence Prometheus families
    bulk/                the numpy replay engine, imported only when there is something to replay

Rules: no trio (the service runs these functions in worker threads), nothing from `_service`; numpy only under
bulk/, and bulk/ is imported lazily by `_replay.py` (tests/admission/test_layout.py checks it).
"""
