"""Tests of the seeder registry."""
