"""Tests of the admin HTTP app (tracker.admin)."""
