"""Schemathesis cases for one admin operation, shared by the in-process and the `trio-tracker run` tests."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tracker.admin._openapi import build_openapi_document

# Operation ids of the document the app serves (the same function builds it), known before collection. The
# dashboard's routes (a static page and the JSON behind it, which ignores unknown query parameters) have their
# own tests (test_dashboard_routes.py and the browser tests).
OPERATION_IDS = [
    operation["operationId"]
    for item in build_openapi_document("test")["paths"].values()
    for operation in item.values()
    if "dashboard" not in operation["tags"]
]


def admin_cases(operation: Any, known_ids: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    """Valid and invalid cases; a third of them with path ids that exist (generated ones almost never do)."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = [parameter.name for parameter in operation.path_parameters if parameter.name in known_ids]
    if names:
        existing = st.fixed_dictionaries({name: st.sampled_from(known_ids[name]) for name in names})
        strategies.append(
            existing.flatmap(lambda ids: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=ids))
        )
    return st.one_of(strategies)


def bounded(max_examples: int) -> Any:
    """Hypothesis settings for a schemathesis run: bounded, reproducible (derandomized), no example store."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
