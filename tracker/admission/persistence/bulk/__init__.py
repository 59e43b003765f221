"""Bulk replay: the numpy engine that applies long runs of contiguous ledger-derived tlog records, and the
snapshot columns it starts from, with exactly the rules of `core._events.apply_ledger_event`.

    _engine.py   `BulkReplay`, `find_ledger_run` (frame dtypes built from persistence/_tlog_format.py)
    _columns.py  a snapshot decoded straight into columns

Rules: imported only by persistence/_replay.py and only when there is a snapshot or tlog data to replay, so a
fresh tracker never pays for numpy. No trio, no writes.
"""
