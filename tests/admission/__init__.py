"""Tests of the admission core (registry-fed supply, score, Decide, queue, attestations, metrics)."""
