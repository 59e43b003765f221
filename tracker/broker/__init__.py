"""The broker and settlement (rpc-broker §6–7 with the spec README's decisions): pricing with checked
arithmetic, credit reservations, the inflight state machine, seeder selection, envelope validation and the
nonce replay cache (pure, no Trio), and `BrokerService`, the Trio edge that runs offers, the queue path and
settlement against the ledger, registry and admission.

Imports the ledger, registry and admission faces; never the RPC transport (pushes go through the `Pusher`
protocol, which the RPC server satisfies) nor the admin API.
"""

from tracker.broker._envelope import EnvelopeInvalid, ReplayCache, envelope_hash, validate_envelope_body
from tracker.broker._metrics import BrokerMetrics
from tracker.broker._pricing import CostOverflow, ModelPrice, PriceTable, UnknownModel, overspent
from tracker.broker._select import ScoreWeights, SelectionPolicy, pick, pick_best, score
from tracker.broker._service import (
    Assignment,
    BrokerInvalid,
    BrokerResult,
    BrokerService,
    BrokerSettings,
    NoCapacity,
    Pusher,
    Rejection,
    SettlementError,
)
from tracker.broker._session import (
    IllegalTransition,
    Inflight,
    InflightRequest,
    InsufficientCredits,
    Reservations,
    Slot,
    State,
    UnknownRequest,
)

__all__ = [
    "Assignment",
    "BrokerInvalid",
    "BrokerMetrics",
    "BrokerResult",
    "BrokerService",
    "BrokerSettings",
    "CostOverflow",
    "EnvelopeInvalid",
    "IllegalTransition",
    "Inflight",
    "InflightRequest",
    "InsufficientCredits",
    "ModelPrice",
    "NoCapacity",
    "PriceTable",
    "Pusher",
    "Rejection",
    "ReplayCache",
    "Reservations",
    "ScoreWeights",
    "SelectionPolicy",
    "SettlementError",
    "Slot",
    "State",
    "UnknownModel",
    "UnknownRequest",
    "envelope_hash",
    "overspent",
    "pick",
    "pick_best",
    "score",
    "validate_envelope_body",
]
