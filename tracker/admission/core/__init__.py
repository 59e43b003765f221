"""Admission core: the pure, synchronous gatekeeper (admission.md §3–§6, §10 reads).

Layout:

    _gatekeeper.py   `AdmissionCore`: state maps, Decide, queue operations, supply, issuance, read views
    _decision.py     decision records (Outcome, DecisionResult, Queued, Rejected, QueueTimeout)
    _events.py       `LedgerEvent`, the committed-entry mapping, the pure `apply_ledger_event`
    _state.py        per-consumer day buckets and per-seeder minute rings (packed arrays)
    _score.py        signals and the local credit score
    _supply.py       supply snapshot, demand EWMA, pressure
    _queue.py        the priority queue with aging
    _issuance.py     attestation bodies and the per-consumer issuance limit
    _attestation.py  attestation validation, signing and verification (byte-exact with Go)
    _peers.py        federation peer set and blocklist parsing
    _views.py        read-only views for the admin routes
    _metrics.py      the §11 Prometheus catalogue

Rules: no trio, no file I/O, no numpy, nothing from `tracker.admission.persistence` or `_service`
(tests/admission/test_layout.py checks it). Time (`now`) and randomness (`rng`) are passed in; every method
returns before the caller's next checkpoint. Only the service (`tracker.admission._service`) holds a core.
"""
